//! A local SMTP server for the email tests: it speaks just enough SMTP for lettre (greeting, EHLO, MAIL,
//! AUTH PLAIN, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it is given, and can be "down": it then greets
//! with 421, which a client must treat as a passing failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct SunkMail {
    pub to: Vec<String>,
    /// The message, with quoted-printable soft breaks and escapes decoded.
    pub data: String,
}

impl SunkMail {
    pub fn subject(&self) -> &str {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
    }

    /// The first address after `prefix` in the message, up to a character a URL of ours never has.
    pub fn link_after(&self, prefix: &str) -> Option<String> {
        let start = self.data.find(prefix)?;
        Some(
            self.data[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_/:.?=&%".contains(*c))
                .collect(),
        )
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    down: Arc<AtomicBool>,
    mails: Arc<Mutex<Vec<SunkMail>>>,
}

/// Decodes quoted-printable: soft line breaks, then `=XX` escapes.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            down: Arc::default(),
            mails: Arc::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = serving.clone();
                tokio::spawn(async move { sink.session(stream).await });
            }
        });
        sink
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn mails(&self) -> Vec<SunkMail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<SunkMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        if self.down.load(Ordering::SeqCst) {
            let _ = write.write_all(b"421 sink is down\r\n").await;
            return;
        }
        let _ = write.write_all(b"220 sink ESMTP\r\n").await;
        let mut to = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("AUTH") {
                b"235 accepted\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                b"250 OK\r\n"
            } else if upper.starts_with("DATA") {
                let _ = write.write_all(b"354 end with .\r\n").await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                self.mails.lock().unwrap().push(SunkMail {
                    to: std::mem::take(&mut to),
                    data: unquote(&data),
                });
                b"250 queued\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else {
                b"250 OK\r\n"
            };
            if write.write_all(answer).await.is_err() {
                return;
            }
        }
    }
}
