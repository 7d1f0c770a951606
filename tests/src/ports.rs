//! Free loopback ports for the processes the harness starts.

use anyhow::Result;
use std::net::TcpListener;

/// `N` distinct free ports on 127.0.0.1. Every listener is held until all are chosen: a
/// port asked for right after another was released can be the same one (two `bind(:0)`
/// calls in a row returned the same port, and the webhook then failed to bind its admin
/// port to its own HTTPS port).
pub fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// One free port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(free_ports::<1>()?[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_asked_for_together_differ() {
        for _ in 0..100 {
            let [a, b, c] = super::free_ports::<3>().unwrap();
            assert!(a != b && b != c && a != c, "{a} {b} {c}");
        }
    }
}
