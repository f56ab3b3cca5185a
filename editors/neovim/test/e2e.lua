-- editors/neovim/test/e2e.lua: stagefront's language server in a real Neovim,
-- through editors/neovim/stagefront.lua (the snippet users copy). Run by
-- hack/nvim-e2e as
--
--   E2E_WORKSPACE=DIR STAGEFRONT_BIN=PATH nvim --clean --headless -n -c 'luafile editors/neovim/test/e2e.lua'
--
-- with DIR a copy of editors/neovim/test/workspace and PATH the stagefront
-- binary, first on $PATH. Each check prints "ok" or "FAIL"; any failure
-- makes nvim exit 1 (:cquit) with the failures on stderr.

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local ws = os.getenv('E2E_WORKSPACE')
local want_bin = os.getenv('STAGEFRONT_BIN')
local WAIT = tonumber(os.getenv('E2E_WAIT_MS') or '') or 10000
local api = vim.api

local failures = {}
local Abort = {} -- raised to stop after a failure the rest depends on

local t0 = (vim.uv or vim.loop).hrtime()

-- say prints a line with the seconds since the start.
local function say(s)
  io.stdout:write(string.format('%5.2fs %s\n', ((vim.uv or vim.loop).hrtime() - t0) / 1e9, s))
  io.stdout:flush()
end

local function fail(desc, detail)
  table.insert(failures, desc .. (detail and detail ~= '' and ('\n      ' .. detail:gsub('\n', '\n      ')) or ''))
  say('FAIL  ' .. desc)
end

-- check records one expectation; detail (a string or a function giving
-- one) says what came instead.
local function check(cond, desc, detail)
  if cond then
    say('ok    ' .. desc)
  else
    fail(desc, type(detail) == 'function' and detail() or detail)
  end
  return cond
end

local function must(cond, desc, detail)
  if not check(cond, desc, detail) then
    error(Abort)
  end
end

-- wait waits up to WAIT ms for pred to hold.
local function wait(pred)
  return vim.wait(WAIT, pred, 20)
end

-- --- the editor's view of the server --------------------------------------

-- Every publication, by URI: its version and how many there were.
local published = {}
do
  local h = vim.lsp.handlers['textDocument/publishDiagnostics']
  vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
    if result then
      local p = published[result.uri] or { n = 0 }
      p.n, p.version = p.n + 1, result.version
      published[result.uri] = p
    end
    return h(err, result, ctx, config)
  end
end

-- The buffers the snippet asked to attach a client to.
local attach_calls = {}
do
  local attach, start = vim.lsp.buf_attach_client, vim.lsp.start
  vim.lsp.buf_attach_client = function(buf, id)
    attach_calls[buf] = true
    return attach(buf, id)
  end
  if start then
    vim.lsp.start = function(config, opts)
      attach_calls[(opts and opts.bufnr) or api.nvim_get_current_buf()] = true
      return start(config, opts)
    end
  end
end

local function clients_of(buf)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buf, name = 'stagefront' })
  end
  local out = {}
  for _, c in pairs(vim.lsp.buf_get_clients(buf)) do
    if c.name == 'stagefront' then
      table.insert(out, c)
    end
  end
  return out
end

local function buf_version(buf)
  local v = vim.lsp.util.buf_versions and vim.lsp.util.buf_versions[buf]
  return v or api.nvim_buf_get_var(buf, 'changedtick')
end

-- current reports whether the diagnostics of buf were published for its
-- current text. (Neovim 0.7 opens a document as version 0, and the server
-- leaves a version 0 out of its publication: omitempty.)
local function current(buf)
  local p = published[vim.uri_from_bufnr(buf)]
  return p ~= nil and (p.version or 0) == buf_version(buf)
end

local severity_name = { 'error', 'warning', 'info', 'hint' }

local function unnecessary(d)
  if d._tags and d._tags.unnecessary then
    return true
  end
  local lsp = d.user_data and d.user_data.lsp
  return lsp ~= nil and lsp.tags ~= nil and vim.tbl_contains(lsp.tags, 1) -- DiagnosticTag.Unnecessary
end

-- render shows a diagnostic as the Go tests do: line:col-line:col
-- severity [unnecessary] message, lines 1-based.
local function render(d)
  return string.format('%d:%d-%d:%d %s%s %s', d.lnum + 1, d.col, d.end_lnum + 1, d.end_col,
    severity_name[d.severity] or tostring(d.severity), unnecessary(d) and ' unnecessary' or '', d.message)
end

local function diags(buf)
  local ds = vim.diagnostic.get(buf)
  table.sort(ds, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return ds
end

local function render_all(buf)
  local lines = {}
  for _, d in ipairs(diags(buf)) do
    table.insert(lines, render(d))
  end
  local p = published[vim.uri_from_bufnr(buf)]
  return string.format('diagnostics (published %s, version %s; buffer version %s):\n%s',
    p and p.n or 0, p and p.version or '-', buf_version(buf), #lines > 0 and table.concat(lines, '\n') or '(none)')
end

-- find returns the diagnostics of buf on 1-based line n with severity sev.
local function find(buf, n, sev)
  local out = {}
  for _, d in ipairs(diags(buf)) do
    if d.lnum + 1 == n and (sev == nil or d.severity == sev) then
      table.insert(out, d)
    end
  end
  return out
end

local function count(buf, sev)
  local n = 0
  for _, d in ipairs(diags(buf)) do
    if d.severity == sev then
      n = n + 1
    end
  end
  return n
end

local E, H = vim.diagnostic.severity.ERROR, vim.diagnostic.severity.HINT

-- dead reports whether 1-based line n of buf is a hint tagged unnecessary.
local function dead(buf, n)
  for _, d in ipairs(find(buf, n, H)) do
    if unnecessary(d) and d.message:find('not in this build', 1, true) then
      return true
    end
  end
  return false
end

-- line_of is the 1-based number of the first line of buf starting with prefix.
local function line_of(buf, prefix)
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l:sub(1, #prefix) == prefix then
      return i
    end
  end
  fail('the buffer has a line ' .. prefix)
  error(Abort)
end

-- at is the position params of word on the line starting with prefix.
local function at(buf, prefix, word)
  local n = line_of(buf, prefix)
  local l = api.nvim_buf_get_lines(buf, n - 1, n, false)[1]
  local col = assert(l:find(word, 1, true), word)
  return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = n - 1, character = col } }, n
end

-- request sends method to buf's stagefront server and returns the result.
local function request(buf, method, params)
  local res, err = vim.lsp.buf_request_sync(buf, method, params, WAIT)
  if not res then
    return nil, 'no answer: ' .. tostring(err)
  end
  for _, r in pairs(res) do
    if r.err or r.error then
      return nil, vim.inspect(r.err or r.error)
    end
    return r.result
  end
  return nil, 'no client answered'
end

-- --- the checks ------------------------------------------------------------

local function run()
  local v = vim.version()
  say(string.format('Neovim %d.%d.%d; vim.lsp.start %s', v.major, v.minor, v.patch,
    vim.lsp.start and 'exists: the snippet uses it' or 'absent: the snippet uses vim.lsp.start_client + buf_attach_client'))
  must(ws ~= nil and vim.fn.isdirectory(ws) == 1, 'E2E_WORKSPACE is the workspace directory', tostring(ws))
  local exe = vim.fn.exepath('stagefront')
  check(want_bin == nil or exe == want_bin, 'the snippet\'s command `stagefront` is the binary under test', exe)

  -- The snippet, required as users require it.
  package.path = vim.fn.fnamemodify(here, ':h') .. '/?.lua;' .. package.path
  local stagefront = require('stagefront')
  stagefront.setup({ settings = { buildArgs = { SLIM = 'true' }, target = 'final' } })

  -- A Dockerfile without the syntax line: no server.
  vim.cmd('edit ' .. vim.fn.fnameescape(ws .. '/plain/Dockerfile'))
  local plain = api.nvim_get_current_buf()
  check(vim.bo[plain].filetype == 'dockerfile' and not attach_calls[plain],
    'plain/Dockerfile (no # syntax=org/stagefront): filetype dockerfile, no client',
    'filetype ' .. vim.bo[plain].filetype .. ', attach asked: ' .. tostring(attach_calls[plain]))

  -- The Dockerfile: the client attaches, the error comes.
  local df = ws .. '/Dockerfile'
  vim.cmd('edit ' .. vim.fn.fnameescape(df))
  local buf = api.nvim_get_current_buf()
  must(wait(function()
    return #clients_of(buf) > 0
  end), 'the stagefront client attaches to Dockerfile', 'no client after ' .. WAIT .. ' ms; see the LSP log')
  local client = clients_of(buf)[1]
  check(client.config.root_dir == ws, 'its root is the directory holding the Dockerfile', tostring(client.config.root_dir))

  local docz = line_of(buf, 'IF DOCZ')
  local function error_at(n)
    return function()
      local es = find(buf, n, E)
      return current(buf) and #es == 1 and count(buf, E) == 1
        and es[1].message:find('undeclared name DOCZ', 1, true) ~= nil
    end
  end
  check(wait(error_at(docz)), string.format('error at line %d: "undeclared name DOCZ"', docz), function()
    return render_all(buf)
  end)
  local e = find(buf, docz, E)[1]
  if check(e ~= nil and e.col == 3 and e.end_col == 7 and e.source == 'stagefront',
      string.format('  on its columns 3-7 (DOCZ), source stagefront: %s', e and render(e) or '-'), function()
        return render_all(buf)
      end) then
    say('      message: ' .. e.message)
  end

  -- The error moves with the text.
  api.nvim_buf_set_lines(buf, docz - 1, docz - 1, false, { 'RUN echo one', 'RUN echo two' })
  check(wait(error_at(docz + 2)), string.format('2 lines inserted above: the error moves to line %d', docz + 2), function()
    return render_all(buf)
  end)
  api.nvim_buf_set_lines(buf, docz - 1, docz + 1, false, {})
  check(wait(error_at(docz)), string.format('the 2 lines deleted: the error is back at line %d', docz), function()
    return render_all(buf)
  end)

  -- The quick fix fixes it.
  e = find(buf, docz, E)[1]
  if not e then
    fail('no error for the code action', render_all(buf))
    error(Abort)
  end
  local range = { start = { line = e.lnum, character = e.col }, ['end'] = { line = e.end_lnum, character = e.end_col } }
  local actions, err = request(buf, 'textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = range,
    context = { diagnostics = { { range = range, severity = 1, source = e.source, message = e.message } } },
  })
  local titles = {}
  for _, a in ipairs(actions or {}) do
    table.insert(titles, a.title)
  end
  if check(actions and #actions == 1 and actions[1].title == 'Change to DOCS' and actions[1].edit,
      'code action at the error: "Change to DOCS"', err or vim.inspect(titles)) then
    vim.lsp.util.apply_workspace_edit(actions[1].edit, 'utf-16')
  end
  check(api.nvim_buf_get_lines(buf, docz - 1, docz, false)[1] == 'IF DOCS', string.format('  applied: line %d reads "IF DOCS"', docz),
    api.nvim_buf_get_lines(buf, docz - 1, docz, false)[1])
  check(wait(function()
    return current(buf) and count(buf, E) == 0 and count(buf, H) > 0
  end), 'fixed: the error is gone, the dead lines come', function()
    return render_all(buf)
  end)

  -- The dead lines of the defaults (DOCS=false), and of SLIM=true from the
  -- snippet's settings.
  local docs_from = line_of(buf, 'FROM busybox:1.36 AS docs')
  local else_from = line_of(buf, 'ELSE') + 1
  for _, c in ipairs({
    { docs_from, true, 'FROM busybox:1.36 AS docs (IF DOCS branch)' },
    { docs_from + 1, true, 'RUN echo docs > /docs' },
    { else_from, false, 'FROM busybox:1.36 AS docs (ELSE branch)' },
    { else_from + 1, false, 'RUN echo none > /docs' },
    { docz + 1, true, 'RUN echo with-docs > /docs/extra (the fixed IF DOCS)' },
    { line_of(buf, 'RUN --if=DOCS'), true, 'RUN --if=DOCS' },
    { line_of(buf, 'RUN --if=SLIM'), false, 'RUN --if=SLIM (SLIM=true in the settings)' },
    { line_of(buf, 'USER 1000'), false, 'USER 1000' },
  }) do
    local n, want, what = c[1], c[2], c[3]
    check(dead(buf, n) == want, string.format('line %d %s: %s', n, what,
      want and 'hint, tagged unnecessary, "not in this build"' or 'live (no hint)'), function()
      return render_all(buf)
    end)
  end
  local hint = find(buf, docs_from + 1, H)[1]
  if hint then
    say('      e.g. ' .. render(hint))
    say('      (the Unnecessary tag as this Neovim keeps it: ' .. (hint._tags and ('_tags = ' .. vim.inspect(hint._tags))
      or ('user_data.lsp.tags = ' .. vim.inspect(hint.user_data and hint.user_data.lsp and hint.user_data.lsp.tags))) .. ')')
  end

  -- Hover.
  local params = at(buf, 'IF DOCS', 'DOCS')
  local hover, herr = request(buf, 'textDocument/hover', params)
  local text = hover and hover.contents and (hover.contents.value or hover.contents) or ''
  text = type(text) == 'string' and text or vim.inspect(text)
  for _, want in ipairs({ '**ARG DOCS**', 'builds the docs site too.', 'default: `false`', 'in this build: `false`' }) do
    check(text:find(want, 1, true), 'hover on DOCS in IF DOCS: ' .. want, herr or text)
  end
  hover, herr = request(buf, 'textDocument/hover', (at(buf, 'RUN --if=SLIM', 'SLIM')))
  text = hover and hover.contents and hover.contents.value or ''
  check(text:find('in this build: `true` (build arg)', 1, true), 'hover on SLIM in RUN --if=SLIM: in this build: `true` (build arg)', herr or text)

  -- Definition.
  local locs, derr = request(buf, 'textDocument/definition', (at(buf, 'COPY --from=build', 'build')))
  local build_line = line_of(buf, 'FROM golang')
  check(locs and #locs == 1 and locs[1].uri == vim.uri_from_bufnr(buf) and locs[1].range.start.line + 1 == build_line,
    string.format('definition of build in COPY --from=build: Dockerfile line %d', build_line), derr or vim.inspect(locs))
  local frag_uri = vim.uri_from_fname(ws .. '/stages/test.Dockerfile')
  locs, derr = request(buf, 'textDocument/definition', (at(buf, 'INCLUDE', 'stages/test.Dockerfile')))
  check(locs and #locs == 1 and locs[1].uri == frag_uri, 'definition of the INCLUDE path: ' .. frag_uri, derr or vim.inspect(locs))
  locs, derr = request(buf, 'textDocument/definition', (at(buf, 'REQUIRE test', 'test')))
  check(locs and #locs == 1 and locs[1].uri == frag_uri and locs[1].range.start.line == 0,
    'definition of test in REQUIRE test: the fragment, line 1', derr or vim.inspect(locs))

  -- Document symbols.
  local syms, serr = request(buf, 'textDocument/documentSymbol', { textDocument = { uri = vim.uri_from_bufnr(buf) } })
  local function tree(ss, indent, out)
    for _, s in ipairs(ss or {}) do
      table.insert(out, string.format('%s%s %d-%d', indent, s.name, s.range.start.line + 1, s.range['end'].line + 1))
      tree(s.children, indent .. '  ', out)
    end
    return out
  end
  local got = table.concat(tree(syms, '', {}), '\n')
  local want = table.concat({
    'GO_VERSION 2-2',
    'DOCS 4-4',
    'SLIM 6-6',
    'build 7-8',
    'IF DOCS 9-15',
    '  docs 10-11',
    '  docs 13-14',
    'stages/test.Dockerfile 16-16',
    'final 17-26',
    '  REQUIRE test 18-18',
    '  IF DOCS 21-23',
  }, '\n')
  check(got == want, 'document symbols: the ARGs, the stages, the IF blocks, the INCLUDE, the REQUIRE',
    (serr or '') .. 'got:\n' .. got .. '\nwant:\n' .. want)

  -- Completion after RUN --if= (an unfinished line).
  local last = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, last, last, false, { 'RUN --if=' })
  local list, cerr = request(buf, 'textDocument/completion', { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = last, character = 9 } })
  local labels = {}
  for _, it in ipairs((list and (list.items or list)) or {}) do
    labels[it.label] = true
  end
  local names = vim.tbl_keys(labels)
  table.sort(names)
  for _, w in ipairs({ 'DOCS', 'GO_VERSION', 'SLIM', 'TARGETARCH', 'exists', 'defined' }) do
    check(labels[w], 'completion after RUN --if= offers ' .. w, cerr or table.concat(names, ' '))
  end
  check(not labels.build, 'completion after RUN --if= offers no stage (build)', table.concat(names, ' '))
  say('      offered: ' .. table.concat(names, ' '))
  api.nvim_buf_set_lines(buf, last, last + 1, false, {})
  check(wait(function()
    return current(buf) and count(buf, E) == 0 and dead(buf, docs_from)
  end), 'the unfinished line removed: no error again', function()
    return render_all(buf)
  end)

  -- Other build args, through the snippet's configure().
  stagefront.configure({ buildArgs = { SLIM = 'true', DOCS = 'true' } })
  check(wait(function()
    return dead(buf, else_from) and not dead(buf, docs_from) and not dead(buf, line_of(buf, 'RUN --if=DOCS'))
  end), 'configure({buildArgs = {DOCS = "true"}}): the ELSE branch is dead, the IF DOCS branch and RUN --if=DOCS live', function()
    return render_all(buf)
  end)

  -- The fragment: the same server.
  vim.cmd('edit ' .. vim.fn.fnameescape(ws .. '/stages/test.Dockerfile'))
  local frag = api.nvim_get_current_buf()
  check(wait(function()
    local cs = clients_of(frag)
    return #cs == 1 and cs[1].id == client.id
  end), 'stages/test.Dockerfile (a fragment, no syntax line) attaches to the same client', function()
    return vim.inspect(vim.tbl_map(function(c)
      return { c.id, c.config.root_dir }
    end, clients_of(frag)))
  end)
end

local function finish()
  if #failures > 0 then
    io.stderr:write(string.format('\nnvim e2e: %d check(s) failed:\n', #failures))
    for _, f in ipairs(failures) do
      io.stderr:write('  - ' .. f .. '\n')
    end
    io.stderr:flush()
    vim.cmd('cquit 1')
  else
    say('all checks passed')
    vim.cmd('qa!')
  end
end

-- debug.traceback hands a non-string error (Abort) back as it is.
local ok, err = xpcall(run, debug.traceback)
if not ok and err ~= Abort then
  fail('the test raised an error', tostring(err))
end
finish()
