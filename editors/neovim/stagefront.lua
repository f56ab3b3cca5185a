-- stagefront.lua: stagefront's language server (`stagefront lsp`) in Neovim's
-- built-in LSP client, no plugin. Neovim 0.7 or newer.
--
-- It starts for a Dockerfile whose parser directives (its first lines) say
-- `# syntax=org/stagefront...`, and for a `*.Dockerfile` fragment with such a
-- Dockerfile in its directory or above it (up to the repository's root). One
-- server per root: the directory with .git above the Dockerfile, else the
-- Dockerfile's own directory.
--
-- Install: copy this file to ~/.config/nvim/lua/stagefront.lua, and in init.lua:
--
--   require('stagefront').setup({
--     settings = {
--       buildArgs = { DOCS = 'true' }, -- as --build-arg DOCS=true
--       target = 'production',         -- as --target production
--       -- platform = 'linux/arm64', context = '.', contexts = { shared = '../shared' },
--     },
--   })
--
-- and change the build the editor shows at any time (no restart):
--
--   :lua require('stagefront').configure({ buildArgs = { DOCS = 'false' } })

local M = {}

M.config = {
  -- The server's command; `stagefront` must be on $PATH, or give its path.
  cmd = { 'stagefront', 'lsp' },
  -- The build to analyse for: buildArgs, target, platform, context, contexts
  -- (directories relative to the root), debounceMs.
  settings = {},
  -- on_attach(client, bufnr), as for any vim.lsp client (keymaps, ...).
  on_attach = nil,
}

local uv = vim.uv or vim.loop
local api = vim.api

-- is_stagefront reports whether an image reference names org/stagefront
-- (any registry, tag or digest).
local function is_stagefront(ref)
  ref = ref:gsub('@.*$', ''):gsub(':[^/]*$', '')
  return ref == 'org/stagefront' or ref:sub(-15) == '/org/stagefront'
end

-- has_syntax reports whether the parser directives at the top of lines
-- choose stagefront.
local function has_syntax(lines)
  for _, l in ipairs(lines) do
    local key, value = l:match('^#%s*([%a][%w]*)%s*=%s*(%S+)')
    if not key then
      return false -- the directives end at the first other line
    end
    if key:lower() == 'syntax' then
      return is_stagefront(value)
    end
  end
  return false
end

local function parent(dir)
  local p = vim.fn.fnamemodify(dir, ':h')
  if p ~= dir then
    return p
  end
end

-- git_root is the nearest directory from dir up that holds a .git.
local function git_root(dir)
  while dir do
    if uv.fs_stat(dir .. '/.git') then
      return dir
    end
    dir = parent(dir)
  end
end

local function is_dockerfile_name(name)
  return name == 'Dockerfile' or name == 'Containerfile' or name:match('^Dockerfile%.') ~= nil
    or name:match('^Containerfile%.') ~= nil or name:match('%.[dD]ockerfile$') ~= nil
end

-- home_of_fragment is the directory, from dir up to the repository's root
-- (3 levels outside a repository), with a stagefront Dockerfile.
local function home_of_fragment(dir)
  local stop, levels = git_root(dir), 3
  while dir do
    for _, name in ipairs(vim.fn.readdir(dir)) do
      local p = dir .. '/' .. name
      if is_dockerfile_name(name) and vim.fn.filereadable(p) == 1 and has_syntax(vim.fn.readfile(p, '', 10)) then
        return dir
      end
    end
    if dir == stop or (not stop and levels == 0) then
      return nil
    end
    dir, levels = parent(dir), levels - 1
  end
end

-- server_settings are the settings as the server reads them: JSON objects
-- (Neovim encodes an empty table as []), the build args' values strings.
local function server_settings(s)
  s = vim.deepcopy(s or {})
  for _, k in ipairs({ 'buildArgs', 'contexts' }) do
    if type(s[k]) == 'table' then
      if next(s[k]) == nil then
        s[k] = nil
      else
        for n, v in pairs(s[k]) do
          s[k][n] = tostring(v)
        end
      end
    end
  end
  if next(s) == nil then
    return nil
  end
  return s
end

local clients = {} -- Neovim 0.7: the client id by root

-- attach starts (or reuses) the root's server for buffer buf when buf is
-- a stagefront Dockerfile or one of its fragments.
function M.attach(buf)
  buf = (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
  local name = api.nvim_buf_get_name(buf)
  if name == '' or vim.bo[buf].buftype ~= '' then
    return
  end
  local path = vim.fn.fnamemodify(name, ':p')
  local dir = vim.fn.fnamemodify(path, ':h')
  local home
  if has_syntax(api.nvim_buf_get_lines(buf, 0, 10, false)) then
    home = dir
  elseif path:match('%.[dD]ockerfile$') then
    home = home_of_fragment(dir)
  end
  if not home then
    return
  end
  if vim.fn.executable(M.config.cmd[1]) ~= 1 then
    vim.notify_once('stagefront: ' .. M.config.cmd[1] .. ' is not an executable; see editors/neovim/README.md', vim.log.levels.WARN)
    return
  end
  local root = git_root(home) or home
  local settings = server_settings(M.config.settings)
  local config = {
    name = 'stagefront',
    cmd = M.config.cmd,
    root_dir = root,
    init_options = settings,
    settings = settings and { stagefront = settings } or nil,
    on_attach = M.config.on_attach,
  }
  if vim.lsp.start then -- Neovim 0.8+: reuses the client of the same name and root
    api.nvim_buf_call(buf, function()
      vim.lsp.start(config, { bufnr = buf })
    end)
    return
  end
  local id = clients[root]
  if not id or vim.lsp.client_is_stopped(id) then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(buf, id)
  end
end

local function stagefront_clients()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return vim.tbl_filter(function(c)
    return c.name == 'stagefront'
  end, get())
end

-- configure replaces the settings, for the servers running and those to come.
function M.configure(settings)
  M.config.settings = settings or {}
  local s = server_settings(M.config.settings)
  local params = { settings = { stagefront = s or vim.empty_dict() } }
  for _, c in ipairs(stagefront_clients()) do
    c.config.settings = params.settings
    if c.settings ~= nil then
      c.settings = params.settings -- 0.11+
    end
    if vim.fn.has('nvim-0.11') == 1 then
      c:notify('workspace/didChangeConfiguration', params)
    else
      c.notify('workspace/didChangeConfiguration', params)
    end
  end
end

-- setup takes { cmd = ..., settings = ..., on_attach = ... } and attaches
-- to the Dockerfiles opened from now on (and to those already open).
function M.setup(opts)
  M.config = vim.tbl_extend('force', M.config, opts or {})
  local group = api.nvim_create_augroup('stagefront', { clear = true })
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'dockerfile',
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'dockerfile' then
      M.attach(buf)
    end
  end
end

return M
