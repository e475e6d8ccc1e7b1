# docs/: see Makefile.am for how the parts fit; this folder's build lives here.
EXTRA_DIST += docs/threat-model.md docs/several-brokers.md
EXTRA_DIST += docs/rotation-hooks.md docs/examples/rotation-hook-file \
	docs/examples/rotation-hook-http
