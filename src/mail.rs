//! Email delivery off the request path: handlers enqueue, one background task
//! sends, retrying transient failures. With `HELLOJOHN_SMTP_URL` it speaks
//! SMTP (`smtp://` with STARTTLS, `smtps://` with TLS, `smtp+plain://` for a
//! local relay); without it the dev mailer appends JSON lines to
//! `HELLOJOHN_DEV_MAILBOX` (API.md §3).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Messages waiting to be sent before new ones are dropped (and logged).
const QUEUE: usize = 10_000;
/// Messages being delivered (or retried) at once.
const SENDERS: usize = 8;
/// Delays between attempts of one message.
const RETRIES: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)];

/// One email: what the user reads and, for the dev mailbox, the token and link it carries.
#[derive(Debug, Clone, Serialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(skip)]
    pub html: String,
    pub token: Option<String>,
    pub link: Option<String>,
}

/// Why the mailer could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("HELLOJOHN_SMTP_URL: {0}")]
    Url(String),
    #[error("HELLOJOHN_EMAIL_FROM: {0}")]
    From(String),
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: lettre::message::Mailbox,
    },
    Dev(PathBuf),
}

/// The handle handlers enqueue emails on.
#[derive(Clone)]
pub struct Mailer {
    queue: mpsc::Sender<Email>,
}

impl Mailer {
    /// Starts the sending task: SMTP when `smtp_url` is set, else the dev mailbox at `dev_mailbox`.
    pub fn start(smtp_url: Option<&str>, from: Option<&str>, dev_mailbox: PathBuf) -> Result<Self, MailError> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp {
                transport: smtp_transport(url)?,
                from: from_address(from)?,
            },
            None => Transport::Dev(dev_mailbox),
        };
        let (queue, mut inbox) = mpsc::channel::<Email>(QUEUE);
        let transport = std::sync::Arc::new(transport);
        // Each message retries on its own, so one failing address never holds up the others.
        let senders = std::sync::Arc::new(tokio::sync::Semaphore::new(SENDERS));
        tokio::spawn(async move {
            while let Some(email) = inbox.recv().await {
                let Ok(permit) = senders.clone().acquire_owned().await else {
                    break;
                };
                let transport = transport.clone();
                tokio::spawn(async move {
                    deliver(&transport, email).await;
                    drop(permit);
                });
            }
        });
        Ok(Self { queue })
    }

    /// Enqueues an email; never waits for delivery.
    pub fn send(&self, email: Email) {
        if self.queue.try_send(email).is_err() {
            metrics::counter!("hellojohn_emails_total", "result" => "dropped").increment(1);
            tracing::error!("email queue full; an email was dropped");
        }
    }
}

fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let parsed = url::Url::parse(url).map_err(|e| MailError::Url(e.to_string()))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| MailError::Url("no host".into()))?
        .to_owned();
    let builder = match parsed.scheme() {
        "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host),
        "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host),
        // Unencrypted, for a relay on the same host or network (and tests).
        "smtp+plain" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)),
        other => return Err(MailError::Url(format!("unsupported scheme {other}"))),
    }
    .map_err(|e| MailError::Url(e.to_string()))?;
    let mut builder = builder.timeout(Some(Duration::from_secs(10)));
    if let Some(port) = parsed.port() {
        builder = builder.port(port);
    }
    if !parsed.username().is_empty() {
        let user = percent_encoding::percent_decode_str(parsed.username())
            .decode_utf8_lossy()
            .to_string();
        let pass = percent_encoding::percent_decode_str(parsed.password().unwrap_or_default())
            .decode_utf8_lossy()
            .to_string();
        builder = builder.credentials(Credentials::new(user, pass));
    }
    Ok(builder.build())
}

fn from_address(from: Option<&str>) -> Result<lettre::message::Mailbox, MailError> {
    from.unwrap_or("hellojohn <no-reply@localhost>")
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))
}

async fn deliver(transport: &Transport, email: Email) {
    for (attempt, delay) in std::iter::once(Duration::ZERO).chain(RETRIES).enumerate() {
        tokio::time::sleep(delay).await;
        match attempt_once(transport, &email).await {
            Ok(()) => {
                metrics::counter!("hellojohn_emails_total", "result" => "sent").increment(1);
                return;
            }
            Err(why) => tracing::warn!(attempt, error = %why, "email delivery failed"),
        }
    }
    metrics::counter!("hellojohn_emails_total", "result" => "failed").increment(1);
    tracing::error!("email delivery gave up after retries");
}

async fn attempt_once(transport: &Transport, email: &Email) -> Result<(), String> {
    match transport {
        Transport::Dev(path) => {
            let mut line = serde_json::to_string(email).map_err(|e| e.to_string())?;
            line.push('\n');
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(|e| e.to_string())?;
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .map_err(|e| e.to_string())?;
            file.write_all(line.as_bytes()).await.map_err(|e| e.to_string())?;
            file.sync_data().await.map_err(|e| e.to_string())
        }
        Transport::Smtp { transport, from } => {
            let to = email
                .to
                .parse()
                .map_err(|e: lettre::address::AddressError| e.to_string())?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(&email.subject)
                .multipart(
                    MultiPart::alternative()
                        .singlepart(
                            SinglePart::builder()
                                .header(ContentType::TEXT_PLAIN)
                                .body(email.text.clone()),
                        )
                        .singlepart(
                            SinglePart::builder()
                                .header(ContentType::TEXT_HTML)
                                .body(email.html.clone()),
                        ),
                )
                .map_err(|e| e.to_string())?;
            transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
        }
    }
}
