# labctl — build, demo, test and benchmark.
#   make demo    build, bring up the demo lab and show traffic crossing it
#   make test    install what the tests need, then lint and run every test (root)
#   make bench   benchmarks: lab build against the kernel floor, DHCP against dnsmasq,
#                DNS against knot, IMAP retrieval against Dovecot, `labctl test` of MasterTech (root)

CARGO ?= cargo
LABCTL := target/release/labctl
DEMO_LAB := labs/two-routers.yaml

# Debian packages the tests and the demo use inside labs.
TEST_PACKAGES := iproute2 iputils-ping python3 procps util-linux time busybox isc-dhcp-client dnsmasq-base bind9-dnsutils curl swaks fetchmail postfix dovecot-pop3d s-nail mutt dovecot-imapd libxml2-utils bc knot-dnsutils ldnsutils

.PHONY: all build demo test deps lint unit bench clean

all: build

build:
	$(CARGO) build --release --locked

deps:
	@missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: build deps
	$(LABCTL) down $(DEMO_LAB) >/dev/null
	$(LABCTL) up $(DEMO_LAB)
	$(LABCTL) exec two-routers backend-pc1 -- ping -c 3 192.168.30.11
	@echo "the lab stays up: try 'sudo $(LABCTL) shell two-routers backend-pc1', then 'sudo $(LABCTL) down two-routers'"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --locked --bins

test: deps lint
	$(CARGO) test --locked --all-targets

bench: build deps
	LABCTL=$(LABCTL) bash bench/run.sh
	LABCTL=$(LABCTL) bash bench/dhcp.sh
	LABCTL=$(LABCTL) bash bench/dns.sh
	LABCTL=$(LABCTL) bash bench/imap.sh
	LABCTL=$(LABCTL) bash bench/checks.sh

clean:
	$(CARGO) clean
