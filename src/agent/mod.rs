//! User agents a lab host runs for its user: ICMP, TCP, web and mail clients and the stub resolver.
