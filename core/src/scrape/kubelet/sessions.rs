//! TLS session resumption per kubelet: the latest session ticket of each kubelet address
//! (`host:port`), so a kubelet scraped over a new connection resumes instead of a full handshake.
//!
//! rustls' own cache keys by server name only (every kubelet of a test fleet is 127.0.0.1, and
//! a ticket of one kubelet is worthless to another) and holds 256 names; a cluster needs one
//! ticket per kubelet. Each connection gets an [`AddressSessions`] naming its address over the
//! shared [`SessionTable`].

use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls_pki_types::ServerName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most kubelet addresses remembered; past it, an arbitrary one is forgotten for each new one.
pub(super) const MAX_ADDRESSES: usize = 262_144;

/// What is remembered of one kubelet. The session values are boxed: a table slot is then 40
/// bytes instead of about 300, and a hash table is half empty after it grows (65,000 kubelets
/// take 131,072 slots).
#[derive(Debug, Default)]
struct Remembered {
    kx_hint: Option<NamedGroup>,
    tls13: Option<Box<Tls13ClientSessionValue>>,
    tls12: Option<Box<Tls12ClientSessionValue>>,
}

/// The sessions of every kubelet, by address, bounded to `capacity` addresses.
#[derive(Debug)]
pub(super) struct SessionTable {
    map: Mutex<HashMap<Box<str>, Remembered>>,
    capacity: usize,
}

impl SessionTable {
    /// An empty table of at most `capacity` addresses.
    pub(super) fn new(capacity: usize) -> SessionTable {
        SessionTable { map: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Remembered>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes what is remembered of `address`, making room for it first.
    fn update(&self, address: &str, f: impl FnOnce(&mut Remembered)) {
        let mut map = self.lock();
        if let Some(known) = map.get_mut(address) {
            return f(known);
        }
        if map.len() >= self.capacity
            && let Some(evicted) = map.keys().next().cloned()
        {
            map.remove(&evicted);
        }
        f(map.entry(address.into()).or_default());
    }

    /// How many addresses hold something.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The session store of one connection attempt: the table, seen through one address (the
/// server name rustls passes is ignored: the address determines it).
#[derive(Debug)]
pub(super) struct AddressSessions {
    table: Arc<SessionTable>,
    address: Box<str>,
}

impl AddressSessions {
    /// The store for connections to `address`.
    pub(super) fn new(table: Arc<SessionTable>, address: &str) -> AddressSessions {
        AddressSessions { table, address: address.into() }
    }
}

impl ClientSessionStore for AddressSessions {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        self.table.update(&self.address, |r| r.kx_hint = Some(group));
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        self.table.lock().get(&*self.address).and_then(|r| r.kx_hint)
    }

    fn set_tls12_session(&self, _: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.table.update(&self.address, |r| r.tls12 = Some(Box::new(value)));
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.table.lock().get(&*self.address).and_then(|r| r.tls12.as_deref().cloned())
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {
        if let Some(r) = self.table.lock().get_mut(&*self.address) {
            r.tls12 = None;
        }
    }

    /// Keeps only the latest ticket: one resumption per new connection is all a kubelet needs.
    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.table.update(&self.address, |r| r.tls13 = Some(Box::new(value)));
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.table.lock().get_mut(&*self.address).and_then(|r| r.tls13.take().map(|b| *b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_apart_and_bounded() {
        let table = Arc::new(SessionTable::new(3));
        let name = ServerName::try_from("127.0.0.1").expect("name");
        for port in 0..10 {
            AddressSessions::new(table.clone(), &format!("127.0.0.1:{port}")).set_kx_hint(name.clone(), NamedGroup::X25519);
        }
        assert_eq!(table.len(), 3);
        let a = AddressSessions::new(table.clone(), "10.0.0.1:10250");
        let b = AddressSessions::new(table.clone(), "10.0.0.1:10251");
        a.set_kx_hint(name.clone(), NamedGroup::secp256r1);
        assert_eq!(a.kx_hint(&name), Some(NamedGroup::secp256r1));
        assert_eq!(b.kx_hint(&name), None);
        assert!(a.take_tls13_ticket(&name).is_none());
        assert_eq!(table.len(), 3);
    }
}
