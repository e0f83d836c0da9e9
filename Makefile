# labctl — build, install, demo, test and benchmark.
#   make demo    build and install labctl, bring up the MasterTech lab and run its checks
#   make test    install what the tests need, then lint and run every test (root)
#   make install install labctl, its shell completions and man pages under
#                $(DESTDIR)$(PREFIX) (PREFIX=/usr/local)
# On a fresh Debian/Ubuntu machine every target first installs what is missing
# (a C linker, pkg-config, Rust of Cargo.toml's rust-version through rustup):
# see tools/bootstrap.sh.
#   make labs-test  every course lab and example graded end to end (root)
#   make bench   benchmarks: lab build against the kernel floor, DHCP against Kea and
#                dnsmasq, DNS against a fixed-reply floor, Knot and NSD, SMTP (plain and STARTTLS) against Postfix, POP3 and
#                IMAP retrieval (plain and TLS) against Dovecot,
#                `labctl test` of MasterTech, `labctl grade` of a class of 200, capture,
#                re-convergence, `labctl web` start-up and event stream, rootless;
#                one failing does not stop the others, a summary table at the end (root)

# rustup installs into ~/.cargo/bin (Debian's rustup package into
# /usr/lib/rustup/bin): look there first, before an older system cargo.
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:/usr/lib/rustup/bin:$(PATH)

CARGO ?= cargo
# PROFILE=debug builds (and installs) the debug binary instead.
PROFILE ?= release
LABCTL := target/$(PROFILE)/labctl
PREFIX ?= /usr/local
DESTDIR ?=
BOOTSTRAP := bash tools/bootstrap.sh
DEMO_LAB := labs/mastertech.yaml

# Debian packages the tests and the demo use (inside labs; graphviz draws `labctl graph`;
# tcpdump, tshark, traceroute, netcat and telnet are what a student reaches for in a lab,
# and tshark reads back the captures the tests write; swaks needs the two Perl TLS
# modules for --tls, which apt only recommends).
TEST_PACKAGES := iproute2 passwd iputils-ping python3 procps util-linux time busybox isc-dhcp-client dnsmasq-base bind9-dnsutils knot-dnsutils ldnsutils curl swaks fetchmail s-nail mutt libxml2-utils graphviz chromium chromium-driver firefox-esr \
  tcpdump tshark traceroute netcat-openbsd telnet uidmap libnet-ssleay-perl libio-socket-ssl-perl

# Debian packages the benchmarks need besides those (each bench script installs
# its reference servers itself).
BENCH_PACKAGES := bc

.PHONY: all toolchain toolchain-lint build install demo test deps bench-deps lint unit bench labs-test clean

all: build

# A C linker, pkg-config and a new enough Rust (installed when missing).
toolchain:
	@$(BOOTSTRAP) toolchain

toolchain-lint:
	@$(BOOTSTRAP) toolchain --lint

build: toolchain
	$(CARGO) build --locked $(if $(filter release,$(PROFILE)),--release)

BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1
COMPLETIONS := $(DESTDIR)$(PREFIX)/share

install: build
	install -d $(BINDIR) $(MANDIR) $(COMPLETIONS)/bash-completion/completions \
	  $(COMPLETIONS)/zsh/site-functions $(COMPLETIONS)/fish/vendor_completions.d
	install -m 755 $(LABCTL) $(BINDIR)/labctl
	$(LABCTL) completions bash > $(COMPLETIONS)/bash-completion/completions/labctl
	$(LABCTL) completions zsh > $(COMPLETIONS)/zsh/site-functions/_labctl
	$(LABCTL) completions fish > $(COMPLETIONS)/fish/vendor_completions.d/labctl.fish
	$(LABCTL) man --out-dir $(MANDIR)
	@echo "installed $(BINDIR)/labctl, its man pages (man labctl) and bash, zsh and fish completions"

deps:
	@$(BOOTSTRAP) packages $(TEST_PACKAGES)

bench-deps:
	@$(BOOTSTRAP) packages $(BENCH_PACKAGES)

demo: install deps
	$(BINDIR)/labctl down $(DEMO_LAB) >/dev/null
	$(BINDIR)/labctl up $(DEMO_LAB)
	$(BINDIR)/labctl check mastertech
	@echo "the lab stays up: try 'labctl web mastertech' (the class sees it in a browser),"
	@echo "'labctl shell mastertech backend-pc1', 'labctl capture mastertech --proto smtp' while"
	@echo "'labctl mail send mastertech backend-pc1 --to bob@mt.com --subject Hi --body Hello' runs,"
	@echo "then 'labctl mail inbox mastertech mgmt-pc1'; 'labctl down mastertech' removes it"

lint: toolchain-lint
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	# The fuzz targets link the library: keep them compiling (running them
	# needs cargo-fuzz and a nightly toolchain, see fuzz/Cargo.toml).
	$(CARGO) check --quiet --locked --manifest-path fuzz/Cargo.toml --bins

unit: toolchain
	$(CARGO) test --locked --lib

test: deps lint
	$(CARGO) test --locked --all-targets
	LABCTL=target/debug/labctl bash tests/labs-test.sh

# Every course lab and example, end to end (also the last step of `test`).
labs-test: build deps
	LABCTL=$(LABCTL) bash tests/labs-test.sh

bench: build deps bench-deps
	LABCTL=$(LABCTL) bash bench/all.sh

clean:
	$(CARGO) clean
