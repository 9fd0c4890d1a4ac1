//! A tiny SMTP server for tests: speaks just enough RFC 5321 (EHLO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT; no TLS, no AUTH) for lettre to deliver, records every accepted message, and can
//! be told to refuse the next attempts with a chosen reply (`451` is temporary, `550` permanent).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (dot-unstuffed, CRLF line ends).
    pub data: String,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Replies to the next RCPT commands instead of `250` (one per attempt).
    refusals: VecDeque<String>,
    /// Refuse every RCPT with this reply.
    refuse_always: Option<String>,
    attempts: usize,
}

#[derive(Clone)]
pub struct FakeSmtp {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let server = FakeSmtp { port, shared };
        let accepting = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let session = accepting.clone();
                tokio::spawn(async move {
                    let _ = session.serve(socket).await;
                });
            }
        });
        server
    }

    /// The next `count` delivery attempts are refused at RCPT with `reply` (e.g. `451 4.3.0 busy`).
    pub fn refuse_next(&self, count: usize, reply: &str) {
        let mut shared = self.shared.lock().expect("lock");
        shared.refusals.extend(std::iter::repeat_n(reply.to_owned(), count));
    }

    pub fn refuse_always(&self, reply: &str) {
        self.shared.lock().expect("lock").refuse_always = Some(reply.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("lock").received.clone()
    }

    /// RCPT commands seen (accepted or refused): one per delivery attempt here.
    pub fn attempts(&self) -> usize {
        self.shared.lock().expect("lock").attempts
    }

    async fn serve(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 fake-smtp.test ESMTP ready\r\n").await?;
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => "250-fake-smtp.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
                "HELO" => "250 fake-smtp.test".to_owned(),
                "MAIL" => {
                    mail_from = command.clone();
                    rcpt_to.clear();
                    "250 2.1.0 ok".to_owned()
                }
                "RCPT" => {
                    let mut shared = self.shared.lock().expect("lock");
                    shared.attempts += 1;
                    let refusal = shared.refusals.pop_front().or_else(|| shared.refuse_always.clone());
                    match refusal {
                        Some(refusal) => refusal,
                        None => {
                            rcpt_to.push(command.clone());
                            "250 2.1.5 ok".to_owned()
                        }
                    }
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut data = String::new();
                    loop {
                        let mut line = String::new();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    self.shared.lock().expect("lock").received.push(Received {
                        mail_from: mail_from.clone(),
                        rcpt_to: rcpt_to.clone(),
                        data,
                    });
                    "250 2.0.0 queued".to_owned()
                }
                "RSET" => {
                    rcpt_to.clear();
                    "250 2.0.0 ok".to_owned()
                }
                "NOOP" => "250 2.0.0 ok".to_owned(),
                "QUIT" => {
                    write.write_all(b"221 2.0.0 bye\r\n").await?;
                    return Ok(());
                }
                _ => "502 5.5.2 not implemented".to_owned(),
            };
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }
}
