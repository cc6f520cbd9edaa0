//! The corpus generator proper: record templates for each format and the
//! size-bounded, time-ordered main loop.

use std::io::{self, Write};

use crate::buf::Buf;
use crate::clock::{Clock, MS_PER_DAY};
use crate::rng::{Rng, mix64};

/// The rare marker token. Exactly one line in `RARE_EVERY` carries it
/// (see [`generate`]); it never occurs anywhere else.
pub const RARE_TOKEN: &str = "XYZZYFAIL";
/// One line in this many contains [`RARE_TOKEN`] (0.05%).
pub const RARE_EVERY: u64 = 2000;
/// Maximum backwards jitter of an out-of-order line (`--unsorted`).
pub const MAX_JITTER_MS: u64 = 3_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Syslog,
    Apache,
    Jsonl,
    Mixed,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "syslog" => Some(Format::Syslog),
            "apache" => Some(Format::Apache),
            "jsonl" | "json" => Some(Format::Jsonl),
            "mixed" => Some(Format::Mixed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub format: Format,
    /// Stop after the first record that brings the output to this many bytes.
    pub size: u64,
    pub seed: u64,
    /// Timestamps are spread evenly over this many days from `start_ms`.
    pub days: u32,
    /// Start of the time range, epoch milliseconds (UTC).
    pub start_ms: i64,
    /// Fraction (0..=1) of records whose timestamp is jittered backwards.
    pub unsorted: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub bytes: u64,
    pub rare: u64,
}

/// Write a corpus for `cfg` to `out` and flush it.
///
/// Timestamps are a pure function of the byte offset of the record
/// (`start + days * offset / size`), so they are non-decreasing and evenly
/// spread over the range; `--unsorted` then moves a fraction of them back by
/// up to an hour, using a separate random stream so that, apart from the
/// time-derived digits, the output is the same with or without it.
///
/// The rare token goes into the record whose first line is line number
/// 2000, 4000, 6000, ... (1-based; or the first record starting after it,
/// when a multi-line record straddles the mark in `mixed`). For the
/// single-line formats the number of rare lines is therefore exactly
/// `lines / 2000` (integer division).
pub fn generate<W: Write>(cfg: &Config, out: &mut W) -> io::Result<Summary> {
    let mut g = Gen::new(cfg.seed, cfg.format);
    let mut jitter = Rng::new(mix64(cfg.seed ^ 0x6A69_7474_6572));
    let jitter_threshold = (cfg.unsorted.clamp(0.0, 1.0) * 18_446_744_073_709_551_616.0) as u128;
    let span_ms = u128::from(cfg.days) * MS_PER_DAY as u128;
    let size = cfg.size.max(1);
    let mut clock = Clock::new();
    let mut b = Buf::with_capacity(4096);
    let mut sum = Summary::default();
    let mut next_rare = RARE_EVERY;

    while sum.bytes < size {
        let offset = span_ms * u128::from(sum.bytes) / u128::from(size);
        let mut ts = cfg.start_ms + offset as i64;
        if u128::from(jitter.next_u64()) < jitter_threshold {
            let back = 1 + jitter.below(MAX_JITTER_MS) as i64;
            ts = (ts - back).max(cfg.start_ms);
        }
        clock.set(ts);
        let rare = sum.lines + 1 >= next_rare;
        if rare {
            next_rare += RARE_EVERY;
            sum.rare += 1;
        }
        b.clear();
        let lines = match cfg.format {
            Format::Syslog => g.syslog(&clock, rare, &mut b),
            Format::Apache => g.apache(&clock, rare, &mut b),
            Format::Jsonl => g.jsonl(&clock, rare, &mut b),
            Format::Mixed => g.mixed(&clock, rare, &mut b),
        };
        out.write_all(&b.v)?;
        sum.bytes += b.len() as u64;
        sum.lines += lines;
    }
    out.flush()?;
    Ok(sum)
}

const USERS: &[&str] = &[
    "root", "admin", "alice", "bob", "carol", "dave", "deploy", "ubuntu", "git", "oracle",
    "postgres", "test", "guest", "backup", "jenkins", "www-data", "ftp", "pi", "support", "mysql",
    "nagios", "ansible", "eve", "mallory", "trent", "victor", "hadoop", "tomcat", "user",
    "operator", "ec2-user", "centos",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.jp",
    "corp.example.co.uk",
    "shop.example.de",
];

const CRON_CMDS: &[&str] = &[
    "(root) CMD (/usr/local/bin/backup.sh --incremental)",
    "(root) CMD (cd / && run-parts --report /etc/cron.hourly)",
    "(www-data) CMD (php /var/www/app/cron.php >/dev/null 2>&1)",
    "(root) CMD (test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily ))",
    "(postgres) CMD (/usr/lib/postgresql/bin/vacuumdb --all --analyze-in-stages)",
    "(deploy) CMD (/opt/app/bin/rotate-logs --keep 14)",
];

const NGINX_PATHS: &[&str] = &[
    "/favicon.ico",
    "/wp-login.php",
    "/.env",
    "/admin/config.php",
    "/robots.txt",
    "/static/img/logo.png",
    "/phpmyadmin/index.php",
    "/.git/config",
];

const API_PATHS: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/users",
    "/api/v1/items",
    "/api/v2/search",
    "/api/v1/cart",
    "/api/v1/sessions",
];

const METHODS: &[&str] = &["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Wget/1.21.4",
];

const REFERERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.example.com/",
    "https://www.example.com/products",
    "https://t.co/",
    "https://www.bing.com/",
];

const SEARCH_WORDS: &[&str] =
    &["laptop", "shoes", "coffee", "usb-c", "monitor", "keyboard", "tent", "camera"];

const JAVA_FRAMES: &[&str] = &[
    "com.example.order.OrderService.reserve(OrderService.java:",
    "com.example.order.OrderService.placeOrder(OrderService.java:",
    "com.example.inventory.StockRepository.lock(StockRepository.java:",
    "com.example.web.OrderController.create(OrderController.java:",
    "com.example.payment.PaymentClient.authorize(PaymentClient.java:",
    "com.example.common.RetryTemplate.execute(RetryTemplate.java:",
    "com.example.web.filter.AuthFilter.doFilter(AuthFilter.java:",
    "com.example.db.TxManager.inTransaction(TxManager.java:",
];

const JAVA_ERRORS: &[&str] = &[
    "java.lang.IllegalStateException: inventory not available",
    "java.lang.NullPointerException: Cannot invoke \"Order.getId()\" because \"order\" is null",
    "java.net.SocketTimeoutException: Read timed out",
    "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms",
    "com.example.payment.PaymentDeclinedException: card declined code=51",
];

/// Holds the content random stream and a per-seed salt used to derive
/// stable identities (IP, MAC, ...) from skewed ranks.
struct Gen {
    r: Rng,
    salt: u64,
}

impl Gen {
    fn new(seed: u64, format: Format) -> Self {
        // Each format gets its own content stream (so `mixed` never replays
        // stretches of `syslog` for the same seed); the identity salt is per
        // seed only, so the frequent IPs are the same in every format.
        Gen { r: Rng::new(mix64(seed) ^ format as u64), salt: mix64(seed ^ 0x0074_7773_6c61) }
    }

    /// Client IPv4 from a skewed distribution: a handful of addresses are
    /// very frequent, the tail is long (up to 65536 distinct addresses).
    fn ip(&mut self, b: &mut Buf) {
        let rank = self.r.skewed(16);
        let h = mix64(rank ^ self.salt);
        let mut a = 1 + (h & 0xFF) % 223;
        if a == 10 || a == 127 || a == 172 || a == 192 {
            a += 1;
        }
        b.u(a)
            .c(b'.')
            .u((h >> 8) & 0xFF)
            .c(b'.')
            .u((h >> 16) & 0xFF)
            .c(b'.')
            .u(1 + (h >> 24) % 254);
    }

    /// LAN address in 192.168.0.0/16.
    fn lan_ip(&mut self, b: &mut Buf) {
        let rank = self.r.skewed(10);
        let h = mix64(rank ^ self.salt ^ 0x1a4);
        b.s("192.168.").u((h >> 8) % 4).c(b'.').u(2 + h % 250);
    }

    fn mac(&mut self, b: &mut Buf) {
        let rank = self.r.skewed(10);
        let h = mix64(rank ^ self.salt ^ 0x3ac);
        for k in 0..6 {
            if k > 0 {
                b.c(b':');
            }
            b.hex(h >> (8 * k), 2, false);
        }
    }

    fn user(&mut self, b: &mut Buf) {
        let rank = self.r.skewed(10);
        match USERS.get(rank as usize) {
            Some(u) => b.s(u),
            None => b.s("user").u(rank),
        };
    }

    fn host(&mut self, b: &mut Buf) {
        b.s("host").z(1 + self.r.skewed(5), 2);
    }

    fn port(&mut self, b: &mut Buf) {
        b.u(self.r.range(1024, 65535));
    }

    fn pid(&mut self, b: &mut Buf) {
        b.u(self.r.range(300, 65000));
    }

    fn uuid(&mut self, b: &mut Buf) {
        let x = self.r.next_u64();
        let y = self.r.next_u64();
        b.hex(x >> 32, 8, false)
            .c(b'-')
            .hex(x >> 16, 4, false)
            .s("-4")
            .hex(x, 3, false)
            .c(b'-')
            .hex(8 | ((y >> 60) & 3), 1, false)
            .hex(y >> 48, 3, false)
            .c(b'-')
            .hex(y, 12, false);
    }

    fn email(&mut self, b: &mut Buf) {
        self.user(b);
        b.c(b'@');
        let d = self.r.pick(DOMAINS);
        b.s(d);
    }

    fn queue_id(&mut self, b: &mut Buf) {
        let x = self.r.next_u64();
        b.hex(x, 10, true);
    }

    fn kernel_uptime(&mut self, clock: &Clock, b: &mut Buf) {
        // Seconds since "boot" (midnight of the day) with microseconds.
        let secs = clock.hour * 3600 + clock.min * 60 + clock.sec;
        // printk pads the seconds to 5 columns, which also keeps the line
        // length independent of the (possibly jittered) time.
        b.c(b'[');
        for limit in [10_000, 1_000, 100, 10] {
            if secs < limit {
                b.c(b' ');
            }
        }
        b.fixed(secs * 1_000_000 + clock.milli * 1000 + self.r.below(1000), 6).s("] ");
    }

    fn api_path(&mut self, b: &mut Buf) {
        let p = self.r.pick(API_PATHS);
        b.s(p).c(b'/').u(self.r.skewed(20));
    }

    /// One RFC 3164 line. Returns the number of lines written (always 1).
    fn syslog(&mut self, clock: &Clock, rare: bool, b: &mut Buf) -> u64 {
        clock.syslog(b);
        b.c(b' ');
        self.host(b);
        b.c(b' ');
        if rare {
            b.s("app[");
            self.pid(b);
            b.s("]: ").s(RARE_TOKEN).s(" job ");
            self.uuid(b);
            b.s(" failed attempt=").u(self.r.range(1, 5));
            b.s(" exit=137 size=").u(self.r.below(100_000)).nl();
            return 1;
        }
        let r = self.r.below(1000);
        match r {
            // sshd: failed passwords dominate, as on any internet-facing host.
            0..=179 => {
                b.s("sshd[");
                self.pid(b);
                b.s("]: Failed password for ");
                if self.r.chance(500) {
                    b.s("invalid user ");
                }
                self.user(b);
                b.s(" from ");
                self.ip(b);
                b.s(" port ");
                self.port(b);
                b.s(" ssh2");
            }
            180..=259 => {
                b.s("sshd[");
                self.pid(b);
                b.s("]: Accepted ")
                    .s(if self.r.chance(600) { "publickey" } else { "password" })
                    .s(" for ");
                self.user(b);
                b.s(" from ");
                self.ip(b);
                b.s(" port ");
                self.port(b);
                b.s(" ssh2");
            }
            260..=339 => {
                b.s("sshd[");
                self.pid(b);
                match self.r.below(4) {
                    0 => {
                        b.s("]: Invalid user ");
                        self.user(b);
                        b.s(" from ");
                        self.ip(b);
                        b.s(" port ");
                        self.port(b);
                    }
                    1 => {
                        b.s("]: Connection closed by authenticating user ");
                        self.user(b);
                        b.c(b' ');
                        self.ip(b);
                        b.s(" port ");
                        self.port(b);
                        b.s(" [preauth]");
                    }
                    2 => {
                        b.s("]: Disconnected from ");
                        self.ip(b);
                        b.s(" port ");
                        self.port(b);
                    }
                    _ => {
                        b.s("]: pam_unix(sshd:session): session opened for user ");
                        self.user(b);
                        b.s("(uid=").u(1000 + self.r.below(50)).s(") by (uid=0)");
                    }
                }
            }
            // kernel
            340..=429 => {
                b.s("kernel: ");
                self.kernel_uptime(clock, b);
                match self.r.below(10) {
                    0..=5 => {
                        b.s("[UFW BLOCK] IN=eth0 OUT= SRC=");
                        self.ip(b);
                        b.s(" DST=");
                        self.lan_ip(b);
                        b.s(" PROTO=TCP SPT=");
                        self.port(b);
                        b.s(" DPT=").s(self.r.pick(&["22", "23", "80", "443", "3389", "8080"]));
                        b.s(" SYN");
                    }
                    6 => {
                        b.s(
                            "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
                        );
                    }
                    7 => {
                        b.s("Out of memory: Killed process ");
                        self.pid(b);
                        b.s(" (java) total-vm:").u(self.r.range(1_000_000, 9_000_000));
                        b.s("kB, anon-rss:").u(self.r.range(500_000, 4_000_000));
                        b.s("kB, UID:1001");
                    }
                    8 => {
                        b.s("EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro");
                    }
                    _ => {
                        b.s("TCP: request_sock_TCP: Possible SYN flooding on port ")
                            .s(self.r.pick(&["80", "443"]))
                            .s(". Sending cookies.");
                    }
                }
            }
            // cron
            430..=529 => {
                b.s("CRON[");
                self.pid(b);
                b.s("]: ");
                if self.r.chance(700) {
                    let cmd = self.r.pick(CRON_CMDS);
                    b.s(cmd);
                } else {
                    b.s("pam_unix(cron:session): session ")
                        .s(if self.r.chance(500) { "opened" } else { "closed" })
                        .s(" for user root");
                }
            }
            // postfix
            530..=639 => match self.r.below(5) {
                0 => {
                    b.s("postfix/smtpd[");
                    self.pid(b);
                    b.s("]: connect from unknown[");
                    self.ip(b);
                    b.c(b']');
                }
                1 => {
                    b.s("postfix/qmgr[");
                    self.pid(b);
                    b.s("]: ");
                    self.queue_id(b);
                    b.s(": from=<");
                    self.email(b);
                    b.s(">, size=").u(self.r.range(300, 200_000));
                    b.s(", nrcpt=").u(self.r.range(1, 4)).s(" (queue active)");
                }
                2 => {
                    b.s("postfix/smtp[");
                    self.pid(b);
                    b.s("]: ");
                    self.queue_id(b);
                    b.s(": to=<");
                    self.email(b);
                    b.s(">, relay=mx.").s(self.r.pick(DOMAINS)).c(b'[');
                    self.ip(b);
                    b.s("]:25, delay=").fixed(self.r.below(5000), 2);
                    b.s(", status=sent (250 2.0.0 OK)");
                }
                3 => {
                    b.s("postfix/cleanup[");
                    self.pid(b);
                    b.s("]: ");
                    self.queue_id(b);
                    b.s(": message-id=<");
                    self.uuid(b);
                    b.c(b'@').s(self.r.pick(DOMAINS)).c(b'>');
                }
                _ => {
                    b.s("postfix/smtpd[");
                    self.pid(b);
                    b.s("]: NOQUEUE: reject: RCPT from unknown[");
                    self.ip(b);
                    b.s("]: 554 5.7.1 <");
                    self.email(b);
                    b.s(">: Relay access denied");
                }
            },
            // dhcpd
            640..=759 => {
                b.s("dhcpd[");
                self.pid(b);
                match self.r.below(4) {
                    0 => {
                        b.s("]: DHCPDISCOVER from ");
                        self.mac(b);
                        b.s(" via eth1");
                    }
                    1 => {
                        b.s("]: DHCPOFFER on ");
                        self.lan_ip(b);
                        b.s(" to ");
                        self.mac(b);
                        b.s(" via eth1");
                    }
                    2 => {
                        b.s("]: DHCPREQUEST for ");
                        self.lan_ip(b);
                        b.s(" (192.168.0.1) from ");
                        self.mac(b);
                        b.s(" via eth1");
                    }
                    _ => {
                        b.s("]: DHCPACK on ");
                        self.lan_ip(b);
                        b.s(" to ");
                        self.mac(b);
                        b.s(" (laptop-").u(self.r.skewed(8)).s(") via eth1");
                    }
                }
            }
            // nginx error log lines relayed to syslog
            760..=784 => {
                b.s("nginx[");
                self.pid(b);
                b.s("]: ");
                clock.nginx(b);
                b.s(" [error] ").u(self.r.range(1000, 9999)).s("#0: *");
                b.u(self.r.below(10_000_000));
                if self.r.chance(600) {
                    let p = self.r.pick(NGINX_PATHS);
                    b.s(" open() \"/var/www/html").s(p);
                    b.s("\" failed (2: No such file or directory), client: ");
                    self.ip(b);
                    b.s(", request: \"GET ").s(p);
                    b.s(" HTTP/1.1\"");
                } else {
                    b.s(" upstream timed out (110: Connection timed out), client: ");
                    self.ip(b);
                    b.s(", request: \"POST ");
                    self.api_path(b);
                    b.s(" HTTP/1.1\", upstream: \"http://127.0.0.1:8080\"");
                }
            }
            // application lines with UUIDs and key=value numbers
            785..=839 => {
                b.s("app[");
                self.pid(b);
                if self.r.chance(700) {
                    b.s("]: request id=");
                    self.uuid(b);
                    b.c(b' ').s(self.r.pick(METHODS)).c(b' ');
                    self.api_path(b);
                    b.s(" status=")
                        .s(self.r.pick(&["200", "200", "200", "201", "204", "400", "404", "500"]));
                    b.s(" size=").u(self.r.below(50_000));
                    b.s(" ms=").u(self.r.skewed(12));
                } else {
                    b.s("]: worker ").u(self.r.below(16)).s(" processed job ");
                    self.uuid(b);
                    b.s(" in ").u(self.r.skewed(14)).s(" ms size=").u(self.r.below(1 << 20));
                }
            }
            // systemd
            _ => match self.r.below(4) {
                0 => {
                    b.s("systemd[1]: Started Session ").u(self.r.below(100_000)).s(" of user ");
                    self.user(b);
                    b.c(b'.');
                }
                1 => {
                    b.s("systemd-logind[");
                    self.pid(b);
                    b.s("]: Removed session ").u(self.r.below(100_000)).c(b'.');
                }
                2 => {
                    b.s("systemd[1]: Starting Daily apt download activities...");
                }
                _ => {
                    b.s("systemd[1]: ")
                        .s(self.r.pick(&["nginx", "app", "postfix", "cron"]))
                        .s(".service: Main process exited, code=exited, status=1/FAILURE");
                }
            },
        }
        b.nl();
        1
    }

    /// One line of Apache combined log format.
    fn apache(&mut self, clock: &Clock, rare: bool, b: &mut Buf) -> u64 {
        self.ip(b);
        b.s(" - ");
        if self.r.chance(50) {
            self.user(b);
        } else {
            b.c(b'-');
        }
        b.s(" [");
        clock.apache(b);
        b.s("] \"");
        let (status, size): (&str, u64);
        if rare {
            b.s("POST /api/v1/").s(RARE_TOKEN).c(b'/').u(self.r.below(100_000));
            status = "500";
            size = self.r.range(100, 999);
        } else {
            let method = self.r.pick(METHODS);
            let r = self.r.below(100);
            match r {
                0..=29 => {
                    let (dir, ext) = match self.r.below(4) {
                        0 => ("js/vendor.", ".js"),
                        1 => ("css/main.", ".css"),
                        _ => ("js/app.", ".js"),
                    };
                    b.s("GET /static/")
                        .s(dir)
                        .hex(mix64(self.r.skewed(6) ^ self.salt), 8, false)
                        .s(ext);
                    if self.r.chance(300) {
                        status = "304";
                        size = 0;
                    } else {
                        status = "200";
                        size = self.r.range(2_000, 400_000);
                    }
                }
                30..=44 => {
                    b.s("GET /products/").u(self.r.skewed(16));
                    if self.r.chance(300) {
                        b.s("/reviews?page=").u(1 + self.r.skewed(4));
                    }
                    status = self.r.pick(&["200", "200", "200", "200", "404", "301"]);
                    size = self.r.range(5_000, 90_000);
                }
                45..=69 => {
                    b.s(method).c(b' ');
                    self.api_path(b);
                    status = self.r.pick(&["200", "200", "200", "201", "204", "400", "401", "500"]);
                    size = self.r.range(50, 20_000);
                }
                70..=79 => {
                    b.s("GET /images/photo-").u(self.r.skewed(14)).s(".jpg");
                    status = "200";
                    size = self.r.range(20_000, 2_000_000);
                }
                80..=86 => {
                    b.s("GET /search?q=").s(self.r.pick(SEARCH_WORDS));
                    b.s("&page=").u(1 + self.r.skewed(3));
                    status = "200";
                    size = self.r.range(8_000, 60_000);
                }
                87..=92 => {
                    let p = self.r.pick(NGINX_PATHS);
                    b.s("GET ").s(p);
                    status = self.r.pick(&["404", "404", "403", "200"]);
                    size = self.r.range(150, 600);
                }
                _ => {
                    b.s(self.r.pick(&["GET /", "GET /index.html", "POST /login", "GET /about"]));
                    status = self.r.pick(&["200", "200", "302"]);
                    size = self.r.range(500, 30_000);
                }
            }
        }
        b.s(" HTTP/1.1\" ").s(status).c(b' ').u(size).s(" \"");
        if self.r.chance(400) {
            b.s(self.r.pick(REFERERS));
        } else {
            b.c(b'-');
        }
        b.s("\" \"").s(self.r.pick(USER_AGENTS)).c(b'"').nl();
        1
    }

    /// One JSON object per line. Messages never contain `"` or `\`, so no
    /// escaping is needed.
    fn jsonl(&mut self, clock: &Clock, rare: bool, b: &mut Buf) -> u64 {
        b.s("{\"time\":\"");
        clock.iso(b);
        let level = if rare {
            "error"
        } else {
            match self.r.below(100) {
                0..=69 => "info",
                70..=84 => "debug",
                85..=94 => "warn",
                _ => "error",
            }
        };
        b.s("\",\"level\":\"").s(level).s("\",\"host\":\"");
        self.host(b);
        b.s("\",\"msg\":\"");
        if rare {
            b.s(RARE_TOKEN).s(" checkout ");
            self.uuid(b);
            b.s(" failed code=E").u(self.r.range(100, 999));
        } else {
            match self.r.below(8) {
                0..=2 => {
                    b.s(self.r.pick(METHODS)).c(b' ');
                    self.api_path(b);
                    b.c(b' ')
                        .s(self.r.pick(&["200", "200", "201", "404", "500"]))
                        .c(b' ')
                        .u(self.r.skewed(12))
                        .s("ms");
                }
                3 => {
                    b.s("user ");
                    self.user(b);
                    b.s(" logged ").s(self.r.pick(&["in", "out"]));
                }
                4 => {
                    b.s("cache miss key=user:").u(self.r.skewed(16));
                }
                5 => {
                    b.s("payment ");
                    self.uuid(b);
                    b.s(" authorized amount=").fixed(self.r.below(100_000), 2);
                }
                6 => {
                    b.s("slow query took ").u(500 + self.r.skewed(14)).s(" ms rows=");
                    b.u(self.r.skewed(18));
                }
                _ => {
                    b.s("connection reset by peer fd=").u(self.r.below(4096));
                }
            }
        }
        b.s("\",\"ip\":\"");
        self.ip(b);
        b.s("\"}").nl();
        1
    }

    /// A Java stack trace: a timestamped head line and 3–8 `\tat` frames.
    fn java(&mut self, clock: &Clock, rare: bool, b: &mut Buf) -> u64 {
        clock.java(b);
        b.s(" ERROR [http-nio-8080-exec-").u(1 + self.r.below(20));
        b.s("] com.example.order.OrderService - ");
        if rare {
            b.s(RARE_TOKEN).s(" ");
        }
        b.s("Failed to process order ").u(self.r.skewed(20)).s(": ");
        b.s(self.r.pick(JAVA_ERRORS)).nl();
        let frames = self.r.range(3, 8);
        for _ in 0..frames {
            b.s("\tat ").s(self.r.pick(JAVA_FRAMES));
            b.u(self.r.range(20, 600)).s(")\n");
        }
        1 + frames
    }

    fn mixed(&mut self, clock: &Clock, rare: bool, b: &mut Buf) -> u64 {
        match self.r.below(100) {
            0..=44 => self.syslog(clock, rare, b),
            45..=74 => self.apache(clock, rare, b),
            75..=94 => self.jsonl(clock, rare, b),
            _ => self.java(clock, rare, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{MONTHS, parse_rfc3339};

    fn cfg(format: Format, size: u64, seed: u64) -> Config {
        Config {
            format,
            size,
            seed,
            days: 30,
            start_ms: parse_rfc3339("2026-10-01T00:00:00Z").unwrap_or_default(),
            unsorted: 0.0,
        }
    }

    fn gen_bytes(c: &Config) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let sum = generate(c, &mut out).unwrap();
        (out, sum)
    }

    fn lines(v: &[u8]) -> Vec<&str> {
        std::str::from_utf8(v).unwrap().lines().collect()
    }

    const ALL: [Format; 4] = [Format::Syslog, Format::Apache, Format::Jsonl, Format::Mixed];

    /// `Mon DD HH:MM:SS` -> seconds within the year-less calendar
    /// (month, day, h, m, s), or None if the line does not start like that.
    fn parse_syslog_ts(line: &str) -> Option<(usize, u32, u32, u32, u32)> {
        let b = line.as_bytes();
        if b.len() < 16 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
            return None;
        }
        if b[15] != b' ' {
            return None;
        }
        let mon = MONTHS.iter().position(|m| m.as_bytes() == &b[0..3])?;
        let day: u32 =
            if b[4] == b' ' { (b[5] as char).to_digit(10)? } else { line[4..6].parse().ok()? };
        let h: u32 = line[7..9].parse().ok()?;
        let m: u32 = line[10..12].parse().ok()?;
        let s: u32 = line[13..15].parse().ok()?;
        ((1..=31).contains(&day) && h < 24 && m < 60 && s < 60).then_some((mon, day, h, m, s))
    }

    #[test]
    fn same_seed_same_bytes() {
        for f in ALL {
            let (a, sa) = gen_bytes(&cfg(f, 1 << 20, 42));
            let (b, sb) = gen_bytes(&cfg(f, 1 << 20, 42));
            assert_eq!(sa, sb);
            assert!(a == b, "{f:?} not deterministic");
            assert_eq!(sa.bytes, a.len() as u64);
            assert_eq!(sa.lines, a.iter().filter(|&&c| c == b'\n').count() as u64);
        }
    }

    #[test]
    fn different_seed_different_bytes() {
        for f in ALL {
            let (a, _) = gen_bytes(&cfg(f, 256 << 10, 1));
            let (b, _) = gen_bytes(&cfg(f, 256 << 10, 2));
            assert!(a != b, "{f:?}: seeds 1 and 2 gave the same output");
        }
    }

    #[test]
    fn size_is_respected() {
        for f in ALL {
            for size in [1u64, 100, 4096, 1 << 20] {
                let (v, s) = gen_bytes(&cfg(f, size, 9));
                assert!(s.bytes >= size);
                // Overshoot is at most one record (a Java trace is < 2 KiB).
                assert!(s.bytes < size + 2048, "{f:?} size {size} gave {}", s.bytes);
                assert_eq!(*v.last().unwrap(), b'\n');
            }
        }
    }

    #[test]
    fn rare_token_rate() {
        for f in [Format::Syslog, Format::Apache, Format::Jsonl] {
            let (v, s) = gen_bytes(&cfg(f, 4 << 20, 5));
            let ls = lines(&v);
            let hits: Vec<usize> = (0..ls.len()).filter(|&i| ls[i].contains(RARE_TOKEN)).collect();
            assert_eq!(hits.len() as u64, s.lines / RARE_EVERY, "{f:?}");
            assert_eq!(s.rare, hits.len() as u64);
            // Exactly lines 2000, 4000, ... (1-based).
            for (k, &i) in hits.iter().enumerate() {
                assert_eq!(i as u64 + 1, (k as u64 + 1) * RARE_EVERY);
            }
            assert!(ls.iter().all(|l| l.matches(RARE_TOKEN).count() <= 1));
        }
        // Mixed: one token per marked record, about one line in 2000.
        let (v, s) = gen_bytes(&cfg(Format::Mixed, 4 << 20, 5));
        let hits = lines(&v).iter().filter(|l| l.contains(RARE_TOKEN)).count() as u64;
        assert_eq!(hits, s.rare);
        assert!(s.rare >= s.lines / RARE_EVERY - 1 && s.rare <= s.lines / RARE_EVERY + 1);
    }

    #[test]
    fn syslog_lines_parse_and_are_sorted() {
        let c = cfg(Format::Syslog, 2 << 20, 11);
        let (v, s) = gen_bytes(&c);
        let ls = lines(&v);
        assert_eq!(ls.len() as u64, s.lines);
        let mut prev = None;
        let mut days = std::collections::BTreeSet::new();
        let mut total_len = 0usize;
        for l in &ls {
            let ts = parse_syslog_ts(l);
            assert!(ts.is_some(), "bad syslog line: {l:?}");
            assert!(prev <= ts, "out of order: {l:?}");
            prev = ts;
            days.insert(ts.map(|t| (t.0, t.1)));
            // Host and program follow the timestamp.
            assert!(l[16..].starts_with("host"), "{l:?}");
            assert!(l.contains(": "), "{l:?}");
            total_len += l.len() + 1;
        }
        // Spread over all 30 days of October 2026.
        assert_eq!(days.len(), 30);
        assert_eq!(ls.first().map(|l| &l[..15]), Some("Oct  1 00:00:00"));
        assert!(ls.last().is_some_and(|l| l.starts_with("Oct 30 23:")));
        // About 100 bytes a line.
        let avg = total_len / ls.len();
        assert!((85..=125).contains(&avg), "average line length {avg}");
    }

    #[test]
    fn unsorted_only_moves_timestamps_back() {
        let mut c = cfg(Format::Syslog, 1 << 20, 13);
        let (sorted, s1) = gen_bytes(&c);
        c.unsorted = 0.05;
        let (unsorted, s2) = gen_bytes(&c);
        assert_eq!(s1, s2);
        let (a, b) = (lines(&sorted), lines(&unsorted));
        let mut moved = 0;
        let mut inversions = 0;
        let mut prev = None;
        for (x, y) in a.iter().zip(&b) {
            // Same line apart from time-derived digits (the syslog stamp,
            // kernel uptime, nginx's own stamp); lengths never change.
            assert_eq!(x.len(), y.len());
            let timeish = |c: u8| c.is_ascii_digit() || c == b' ';
            let same = x.bytes().zip(y.bytes()).all(|(p, q)| p == q || (timeish(p) && timeish(q)));
            assert!(same, "contents differ:\n{x}\n{y}");
            assert!(x[16..].split(' ').take(2).eq(y[16..].split(' ').take(2)), "{x}\n{y}");
            let (tx, ty) = (parse_syslog_ts(x), parse_syslog_ts(y));
            assert!(ty <= tx);
            if ty != tx {
                moved += 1;
            }
            if ty < prev {
                inversions += 1;
            }
            prev = ty;
        }
        let frac = moved as f64 / a.len() as f64;
        assert!((0.035..0.065).contains(&frac), "moved fraction {frac}");
        assert!(inversions > 0);
        // --unsorted 0 is the same as no flag.
        c.unsorted = 0.0;
        assert!(gen_bytes(&c).0 == sorted);
    }

    #[test]
    fn other_formats_look_right() {
        let (v, _) = gen_bytes(&cfg(Format::Apache, 256 << 10, 3));
        for l in lines(&v) {
            assert!(l.contains(" - ") && l.contains(" +0000] \"") && l.ends_with('"'), "{l}");
            assert_eq!(l.matches('"').count(), 6, "{l}");
        }
        let (v, _) = gen_bytes(&cfg(Format::Jsonl, 256 << 10, 3));
        for l in lines(&v) {
            assert!(l.starts_with("{\"time\":\"2026-") && l.ends_with("\"}"), "{l}");
            assert_eq!(&l[32..35], "Z\",", "{l}");
            for key in ["\"level\":\"", "\"host\":\"", "\"msg\":\"", "\"ip\":\""] {
                assert!(l.contains(key), "{l}");
            }
            assert_eq!(l.matches('"').count(), 20, "{l}");
        }
        let (v, _) = gen_bytes(&cfg(Format::Mixed, 1 << 20, 3));
        let ls = lines(&v);
        let mut frames = 0;
        let mut traces = 0;
        for (i, l) in ls.iter().enumerate() {
            if l.starts_with("\tat com.example.") {
                frames += 1;
            } else {
                if frames > 0 {
                    assert!((3..=8).contains(&frames), "trace with {frames} frames");
                    traces += 1;
                }
                frames = 0;
                if l.contains(" ERROR [http-nio") {
                    assert!(ls[i + 1].starts_with("\tat "));
                }
            }
        }
        assert!(traces > 50, "only {traces} stack traces");
        for kind in ["sshd[", "\"GET ", "{\"time\":"] {
            assert!(ls.iter().any(|l| l.contains(kind)), "no {kind} lines in mixed");
        }
    }

    #[test]
    fn ips_are_skewed() {
        let (v, _) = gen_bytes(&cfg(Format::Apache, 1 << 20, 17));
        let mut counts = std::collections::HashMap::new();
        for l in lines(&v) {
            let ip = l.split(' ').next().unwrap();
            *counts.entry(ip).or_insert(0u32) += 1;
        }
        let n: u32 = counts.values().sum();
        let top = counts.values().max().copied().unwrap_or(0);
        assert!(top * 20 > n, "most frequent IP only {top} of {n}");
        assert!(counts.len() > 1000, "only {} distinct IPs", counts.len());
    }
}
