//! `--ip host|domain|loc|country`: turn an extracted IP address into a host name, a domain, a
//! location or a country (spec §6.15), with a MaxMind database (`--geoip`) and reverse DNS.
//!
//! Reverse DNS is a small PTR client over UDP (the first `nameserver` of /etc/resolv.conf, or
//! `TWSLA_DNS=host:port`), with a 1 s timeout and a cache; writing it keeps the dependency
//! tree small and lets the tests run a fake server on loopback. Fixes upstream's inverted
//! `domain` test: a resolved name gives its domain (the name without its first label).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

/// What to turn an IP into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IpMode {
    /// The PTR name, or `<ip>(unknown)`.
    Host,
    /// The domain of the PTR name (without its first label), or `<ip>(unknown)`.
    Domain,
    /// `CC:City:lat,lon` from the GeoIP database, or `unknown`.
    Loc,
    /// The ISO country code from the GeoIP database, or `unknown`.
    Country,
}

/// Errors setting up IP information.
#[derive(Debug, thiserror::Error)]
pub enum IpInfoError {
    /// `loc`/`country` without `--geoip`.
    #[error("--ip {0} needs a MaxMind City or Country database: --geoip FILE")]
    NeedsGeoip(&'static str),
    /// The database cannot be opened.
    #[error("cannot open GeoIP database {path}: {reason}")]
    Geoip {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Resolves and caches IP information.
pub struct IpInfo {
    mode: IpMode,
    geo: Option<maxminddb::Reader<Vec<u8>>>,
    dns: Option<SocketAddr>,
    cache: Mutex<HashMap<String, String>>,
    /// Queries that got no answer at all; after [`DEAD_AFTER`] with no answer ever, the
    /// resolver is taken as unreachable and not asked again (offline machines).
    silent: AtomicU32,
    answered: AtomicBool,
}

/// Unanswered queries (with none answered) after which the resolver is given up.
const DEAD_AFTER: u32 = 8;

impl std::fmt::Debug for IpInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpInfo")
            .field("mode", &self.mode)
            .field("dns", &self.dns)
            .finish_non_exhaustive()
    }
}

const CACHE_MAX: usize = 10_000;

impl IpInfo {
    /// Sets up `mode`, opening `geoip` if given.
    pub fn new(mode: IpMode, geoip: Option<&Path>) -> Result<IpInfo, IpInfoError> {
        let geo = match geoip {
            Some(p) => Some(maxminddb::Reader::open_readfile(p).map_err(|e| {
                IpInfoError::Geoip { path: p.display().to_string(), reason: e.to_string() }
            })?),
            None => None,
        };
        match mode {
            IpMode::Loc if geo.is_none() => return Err(IpInfoError::NeedsGeoip("loc")),
            IpMode::Country if geo.is_none() => return Err(IpInfoError::NeedsGeoip("country")),
            _ => {}
        }
        let dns = matches!(mode, IpMode::Host | IpMode::Domain).then(nameserver).flatten();
        Ok(IpInfo {
            mode,
            geo,
            dns,
            cache: Mutex::new(HashMap::new()),
            silent: AtomicU32::new(0),
            answered: AtomicBool::new(false),
        })
    }

    /// True when reverse DNS was given up (no answer to the first queries).
    pub fn dns_unreachable(&self) -> bool {
        matches!(self.mode, IpMode::Host | IpMode::Domain)
            && (self.dns.is_none()
                || (!self.answered.load(Ordering::Relaxed)
                    && self.silent.load(Ordering::Relaxed) >= DEAD_AFTER))
    }

    /// Looks up many values concurrently (DNS answers take time): same order as `keys`.
    pub fn lookup_many(&self, keys: &[String]) -> Vec<String> {
        let out: Vec<Mutex<String>> = keys.iter().map(|_| Mutex::new(String::new())).collect();
        let next = AtomicUsize::new(0);
        let workers = if matches!(self.mode, IpMode::Host | IpMode::Domain) { 32 } else { 1 };
        std::thread::scope(|s| {
            for _ in 0..workers.min(keys.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(k) = keys.get(i) else { break };
                        let v = self.lookup(k);
                        if let Ok(mut slot) = out[i].lock() {
                            *slot = v;
                        }
                    }
                });
            }
        });
        out.into_iter().map(|m| m.into_inner().unwrap_or_default()).collect()
    }

    /// The information for `ip` (any text; not an IP gives `unknown` forms).
    pub fn lookup(&self, ip: &str) -> String {
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(ip).cloned()) {
            return v;
        }
        let v = self.compute(ip);
        if let Ok(mut c) = self.cache.lock()
            && c.len() < CACHE_MAX
        {
            c.insert(ip.to_string(), v.clone());
        }
        v
    }

    fn compute(&self, ip: &str) -> String {
        let addr: Option<IpAddr> = ip.trim().parse().ok();
        match self.mode {
            IpMode::Host => match addr.and_then(|a| self.ptr(a)) {
                Some(name) => name,
                None => format!("{ip}(unknown)"),
            },
            IpMode::Domain => match addr.and_then(|a| self.ptr(a)) {
                Some(name) => match name.split_once('.') {
                    Some((_, domain)) if !domain.is_empty() => domain.to_string(),
                    _ => name,
                },
                None => format!("{ip}(unknown)"),
            },
            IpMode::Loc => self.city(addr).map_or_else(|| "unknown".into(), |c| c.0),
            IpMode::Country => self.city(addr).map_or_else(|| "unknown".into(), |c| c.1),
        }
    }

    /// (`CC:City:lat,lon`, `CC`) from the database.
    fn city(&self, addr: Option<IpAddr>) -> Option<(String, String)> {
        let geo = self.geo.as_ref()?;
        let r = geo.lookup(addr?).ok()?;
        let city: maxminddb::geoip2::City<'_> = r.decode().ok()??;
        let cc = city.country.iso_code.unwrap_or("").to_string();
        if cc.is_empty() {
            return None;
        }
        let name = city.city.names.english.unwrap_or("");
        let (lat, lon) =
            (city.location.latitude.unwrap_or(0.0), city.location.longitude.unwrap_or(0.0));
        Some((format!("{cc}:{name}:{lat:.3},{lon:.3}"), cc))
    }

    fn ptr(&self, addr: IpAddr) -> Option<String> {
        if self.dns_unreachable() {
            return None;
        }
        match reverse_lookup(self.dns?, addr, Duration::from_secs(1)) {
            Ok(name) => {
                self.answered.store(true, Ordering::Relaxed);
                name
            }
            Err(_) => {
                self.silent.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// The resolver: `TWSLA_DNS` (host:port), else the first nameserver of /etc/resolv.conf.
fn nameserver() -> Option<SocketAddr> {
    if let Ok(v) = std::env::var("TWSLA_DNS") {
        return v.parse().ok();
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some("nameserver")).then(|| it.next()).flatten()?.parse::<IpAddr>().ok()
        })
        .map(|ip| SocketAddr::new(ip, 53))
}

/// The PTR query name of an address.
pub fn ptr_name(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// Builds a DNS query for a PTR record.
pub fn ptr_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 12, 0, 1]); // root, type PTR, class IN
    q
}

fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut end = None;
    for _ in 0..64 {
        let len = *msg.get(pos)? as usize;
        if len == 0 {
            return Some((out, end.unwrap_or(pos + 1)));
        }
        if len & 0xc0 == 0xc0 {
            let ptr = ((len & 0x3f) << 8) | *msg.get(pos + 1)? as usize;
            end.get_or_insert(pos + 2);
            pos = ptr;
            continue;
        }
        let label = msg.get(pos + 1..pos + 1 + len)?;
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&String::from_utf8_lossy(label));
        pos += 1 + len;
    }
    None
}

/// Parses a DNS response to a PTR query with id `id`: the first PTR answer's name.
pub fn parse_ptr_response(id: u16, msg: &[u8]) -> Option<String> {
    if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
        return None;
    }
    if msg[3] & 0x0f != 0 {
        return None; // an error rcode (NXDOMAIN...)
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]);
    let mut pos = 12;
    for _ in 0..qd {
        let (_, p) = read_name(msg, pos)?;
        pos = p + 4;
    }
    for _ in 0..an {
        let (_, p) = read_name(msg, pos)?;
        let rtype = u16::from_be_bytes([*msg.get(p)?, *msg.get(p + 1)?]);
        let rdlen = u16::from_be_bytes([*msg.get(p + 8)?, *msg.get(p + 9)?]) as usize;
        let rdata = p + 10;
        if rtype == 12 {
            let (name, _) = read_name(msg, rdata)?;
            return Some(name.trim_end_matches('.').to_string()).filter(|n| !n.is_empty());
        }
        pos = rdata + rdlen;
    }
    None
}

/// Asks `server` for the PTR name of `addr`: `Ok(Some(name))`, `Ok(None)` when the server
/// answered without a name, `Err` when it did not answer in time.
pub fn reverse_lookup(
    server: SocketAddr,
    addr: IpAddr,
    timeout: Duration,
) -> std::io::Result<Option<String>> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.connect(server)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = (seed as u16) ^ ((seed >> 16) as u16);
    sock.send(&ptr_query(id, &ptr_name(addr)))?;
    let mut buf = [0u8; 1500];
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let n = sock.recv(&mut buf)?;
        if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            return Ok(parse_ptr_response(id, &buf[..n]));
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no DNS answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptr_names() {
        assert_eq!(ptr_name("192.0.2.1".parse().unwrap()), "1.2.0.192.in-addr.arpa");
        assert!(ptr_name("2001:db8::1".parse().unwrap()).ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"));
    }

    /// A fake DNS server on loopback answering one PTR query.
    fn fake_server(answer: Option<&'static str>) -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let Ok((n, from)) = sock.recv_from(&mut buf) else { return };
            let q = &buf[..n];
            let mut r = q.to_vec();
            r[2] = 0x81;
            r[3] = if answer.is_some() { 0x80 } else { 0x83 };
            if let Some(name) = answer {
                r[7] = 1; // ancount
                r.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60]);
                let mut rd = Vec::new();
                for l in name.split('.') {
                    rd.push(l.len() as u8);
                    rd.extend_from_slice(l.as_bytes());
                }
                rd.push(0);
                r.extend_from_slice(&(rd.len() as u16).to_be_bytes());
                r.extend_from_slice(&rd);
            }
            let _ = sock.send_to(&r, from);
        });
        addr
    }

    #[test]
    fn resolves_against_a_fake_server() {
        let s = fake_server(Some("mail.example.com"));
        let name = reverse_lookup(s, "192.0.2.1".parse().unwrap(), Duration::from_secs(2)).unwrap();
        assert_eq!(name.as_deref(), Some("mail.example.com"));
        let s = fake_server(None);
        assert_eq!(
            reverse_lookup(s, "192.0.2.1".parse().unwrap(), Duration::from_secs(2)).unwrap(),
            None
        );
    }

    #[test]
    fn timeout_is_bounded() {
        // A socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t0 = std::time::Instant::now();
        let r = reverse_lookup(
            silent.local_addr().unwrap(),
            "192.0.2.9".parse().unwrap(),
            Duration::from_millis(200),
        );
        assert!(r.is_err());
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn geoip_test_database() {
        let db = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/geoip/GeoIP2-City-Test.mmdb"
        ));
        let loc = IpInfo::new(IpMode::Loc, Some(db)).unwrap();
        assert!(
            loc.lookup("81.2.69.142").starts_with("GB:London:"),
            "{}",
            loc.lookup("81.2.69.142")
        );
        assert_eq!(loc.lookup("10.0.0.1"), "unknown");
        assert_eq!(loc.lookup("not an ip"), "unknown");
        let cc = IpInfo::new(IpMode::Country, Some(db)).unwrap();
        for (ip, want) in [
            ("81.2.69.142", "GB"),
            ("2.125.160.216", "GB"),
            ("216.160.83.56", "US"),
            ("89.160.20.112", "SE"),
            ("175.16.199.0", "CN"),
            ("67.43.156.0", "BT"),
            ("202.196.224.0", "PH"),
        ] {
            assert_eq!(cc.lookup(ip), want, "{ip}");
        }
        assert!(IpInfo::new(IpMode::Country, None).is_err());
        assert!(IpInfo::new(IpMode::Loc, Some(Path::new("/nonexistent.mmdb"))).is_err());
    }
}
