package builder

import "testing"

func TestPlanForward(t *testing.T) {
	const (
		ours     = "# syntax=org/stagefront\nFROM scratch\n"
		upstream = "# syntax=docker/dockerfile:1\nFROM scratch\n"
		plain    = "FROM scratch\n"
	)
	tests := []struct {
		name    string
		opts    map[string]string
		dt      string
		forward bool
		ref     string
		cmdline string
		fromArg bool
	}{
		{name: "no syntax", dt: plain},
		{name: "our syntax, short name", dt: ours},
		{name: "our syntax, tag", dt: "# syntax=org/stagefront:1.2\nFROM scratch\n"},
		{name: "our syntax, docker.io", dt: "# syntax=docker.io/org/stagefront:latest\nFROM scratch\n"},
		{name: "our syntax, digest", dt: "# syntax=docker.io/org/stagefront@sha256:" + sha + "\nFROM scratch\n"},
		{name: "our syntax, index.docker.io", dt: "# syntax=index.docker.io/org/stagefront\nFROM scratch\n"},
		{name: "our syntax with words", dt: "# syntax=org/stagefront --flag\nFROM scratch\n"},
		{name: "other syntax", dt: upstream, forward: true, ref: "docker/dockerfile:1", cmdline: "docker/dockerfile:1"},
		{name: "other syntax, cmdline set", opts: map[string]string{"cmdline": "org/stagefront"}, dt: upstream},
		{name: "cmdline set, empty", opts: map[string]string{"cmdline": ""}, dt: upstream},
		{name: "similar name is not ours", dt: "# syntax=org/stagefront-fork\nFROM scratch\n", forward: true, ref: "org/stagefront-fork", cmdline: "org/stagefront-fork"},
		{name: "other org is not ours", dt: "# syntax=other/stagefront\nFROM scratch\n", forward: true, ref: "other/stagefront", cmdline: "other/stagefront"},
		{name: "source is ours", opts: map[string]string{"source": "localhost:5000/org/stagefront:dev"}, dt: "# syntax=localhost:5000/org/stagefront\nFROM scratch\n"},
		{name: "source decides, default name no longer ours", opts: map[string]string{"source": "localhost:5000/org/stagefront:dev"}, dt: ours, forward: true, ref: "org/stagefront", cmdline: "org/stagefront"},
		{name: "source docker.io form", opts: map[string]string{"source": "docker.io/org/stagefront:latest"}, dt: ours},
		{name: "build-arg ours", opts: map[string]string{keySyntaxArg: "org/stagefront"}, dt: upstream},
		{name: "build-arg ours with words", opts: map[string]string{keySyntaxArg: " org/stagefront:v1 extra"}, dt: upstream},
		{name: "build-arg other beats our directive", opts: map[string]string{keySyntaxArg: "docker/dockerfile:upstream x"}, dt: ours, forward: true, ref: "docker/dockerfile:upstream", cmdline: "docker/dockerfile:upstream x", fromArg: true},
		{name: "build-arg other, cmdline set", opts: map[string]string{keySyntaxArg: "docker/dockerfile:1", "cmdline": "x"}, dt: plain},
		{name: "syntax not first is no directive", dt: "FROM scratch\n# syntax=docker/dockerfile:1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = map[string]string{}
			}
			plan, ok := planForward(opts, []byte(tc.dt))
			if ok != tc.forward {
				t.Fatalf("forward = %v, want %v (plan %+v)", ok, tc.forward, plan)
			}
			if !ok {
				return
			}
			if plan.Ref != tc.ref || plan.Cmdline != tc.cmdline || plan.FromArg != tc.fromArg {
				t.Errorf("plan = %+v, want ref %q cmdline %q fromArg %v", plan, tc.ref, tc.cmdline, tc.fromArg)
			}
			if !tc.fromArg && len(plan.Location) == 0 {
				t.Errorf("no location for the syntax directive")
			}
		})
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheckCaps(t *testing.T) {
	tests := []struct {
		in         string
		mayForward bool
		err        bool
	}{
		{"", false, false},
		{"moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts", false, false},
		{"moby.buildkit.frontend.contexts+forward", false, false},
		{"moby.buildkit.frontend.unknown", false, true},
		{"moby.buildkit.frontend.unknown+forward", true, true},
		{"moby.buildkit.frontend.unknown+forward,moby.buildkit.frontend.other", false, true},
	}
	for _, tc := range tests {
		mf, err := validateCaps(tc.in)
		if mf != tc.mayForward || (err != nil) != tc.err {
			t.Errorf("validateCaps(%q) = %v, %v; want %v, err %v", tc.in, mf, err, tc.mayForward, tc.err)
		}
	}
}
