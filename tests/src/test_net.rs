//! IPv6 test addresses (2001:db8::/32, the documentation prefix) on the
//! loopback device, for tests that need many addresses of one /64: a
//! client's network is its /64, so they play one household with many
//! machines. Adding addresses needs root (`ip -6 addr add ... dev lo`);
//! where that is refused, [`LoopbackAddresses::add`] says why and the
//! test skips.

use std::net::Ipv6Addr;
use std::process::Command;

/// Addresses added to `lo`; removed again when dropped.
pub struct LoopbackAddresses {
    added: Vec<Ipv6Addr>,
}

impl LoopbackAddresses {
    /// Adds `addresses` to `lo` (each a /128), or says why it cannot.
    /// Use a /64 no other test uses, so tests running at once do not
    /// remove each other's addresses.
    pub fn add(addresses: impl IntoIterator<Item = Ipv6Addr>) -> Result<LoopbackAddresses, String> {
        let mut added = LoopbackAddresses { added: Vec::new() };
        for address in addresses {
            // `nodad`: the address is usable at once, without duplicate
            // address detection (there is no one else on `lo`).
            let output = Command::new("ip")
                .args([
                    "-6",
                    "addr",
                    "add",
                    &format!("{address}/128"),
                    "dev",
                    "lo",
                    "nodad",
                ])
                .output()
                .map_err(|e| format!("cannot run `ip`: {e}"))?;
            let error = String::from_utf8_lossy(&output.stderr);
            // Left behind by an earlier run that was killed: ours all the same.
            if !output.status.success() && !error.contains("File exists") {
                return Err(format!(
                    "`ip -6 addr add {address}/128 dev lo` failed (needs root): {}",
                    error.trim()
                ));
            }
            added.added.push(address);
        }
        Ok(added)
    }
}

impl Drop for LoopbackAddresses {
    fn drop(&mut self) {
        for address in &self.added {
            let _ = Command::new("ip")
                .args(["-6", "addr", "del", &format!("{address}/128"), "dev", "lo"])
                .output();
        }
    }
}
