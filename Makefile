# labctl — build, demo, test and benchmark.
#   make demo    build, bring up the MasterTech lab and run its checks
#   make test    install what the tests need, then lint and run every test (root)
#   make labs-test  every course lab and example graded end to end (root)
#   make bench   benchmarks: lab build against the kernel floor, DHCP against dnsmasq,
#                DNS against knot, SMTP against Postfix, POP3 and IMAP retrieval against Dovecot,
#                `labctl test` of MasterTech (root)

CARGO ?= cargo
LABCTL := target/release/labctl
DEMO_LAB := labs/mastertech.yaml

# Debian packages the tests and the demo use (inside labs; graphviz draws `labctl graph`).
TEST_PACKAGES := iproute2 iputils-ping python3 procps util-linux time busybox isc-dhcp-client dnsmasq-base bind9-dnsutils knot-dnsutils ldnsutils curl swaks fetchmail s-nail mutt libxml2-utils graphviz

# Debian packages the benchmarks need besides those (each bench script installs
# its reference servers itself).
BENCH_PACKAGES := bc

.PHONY: all build demo test deps bench-deps install-packages lint unit bench labs-test clean

all: build

build:
	$(CARGO) build --release --locked

# Installs the Debian packages named in PACKAGES that are missing.
install-packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_PACKAGES)"

bench-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(BENCH_PACKAGES)"

demo: build deps
	$(LABCTL) down $(DEMO_LAB) >/dev/null
	$(LABCTL) up $(DEMO_LAB)
	$(LABCTL) check mastertech
	@echo "the lab stays up: try 'sudo $(LABCTL) shell mastertech backend-pc1' or"
	@echo "'sudo $(LABCTL) mail inbox mastertech mgmt-pc1', then 'sudo $(LABCTL) down mastertech'"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --locked --bins

test: deps lint
	$(CARGO) test --locked --all-targets
	LABCTL=target/debug/labctl bash tests/labs-test.sh

# Every course lab and example, end to end (also the last step of `test`).
labs-test: build deps
	LABCTL=$(LABCTL) bash tests/labs-test.sh

bench: build deps bench-deps
	LABCTL=$(LABCTL) bash bench/run.sh
	LABCTL=$(LABCTL) bash bench/dhcp.sh
	LABCTL=$(LABCTL) bash bench/dns.sh
	LABCTL=$(LABCTL) bash bench/mail.sh
	LABCTL=$(LABCTL) bash bench/imap.sh
	LABCTL=$(LABCTL) bash bench/checks.sh

clean:
	$(CARGO) clean
