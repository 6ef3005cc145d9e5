//! The emails hellojohn sends, from per-tenant templates or the defaults.

use crate::mail::Email;
use crate::store::EmailTemplate;

use super::super::context::TenantContext;

fn default_template(kind: &str) -> EmailTemplate {
    let (subject, text) = match kind {
        "password_reset" => ("Reset your {{tenant}} password", "Someone asked to reset the password of {{email}}.\nOpen this link within an hour to choose a new one:\n{{link}}\n\nIf it wasn't you, ignore this email."),
        "email_verification" => ("Verify your email for {{tenant}}", "Confirm that {{email}} is yours by opening this link within 48 hours:\n{{link}}"),
        "magic_link" => ("Your {{tenant}} sign-in link", "Open this link within 15 minutes to sign in as {{email}}:\n{{link}}\n\nIf you didn't ask for it, ignore this email."),
        _ => ("You're invited to {{tenant}}", "You have been invited. Accept the invitation here:\n{{link}}"),
    };
    let html = format!(
        "<p>{}</p>",
        text.replace('\n', "<br>")
            .replace("{{link}}", "<a href=\"{{link}}\">{{link}}</a>")
    );
    EmailTemplate {
        subject: subject.into(),
        text: text.into(),
        html,
    }
}

fn html_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Renders `kind` for `to` with a link (and its token, for the dev mailbox).
pub fn render(ctx: &TenantContext, kind: &str, to: &str, link: &str, token: &str) -> Email {
    let template = ctx
        .tenant
        .auth_config
        .email_templates
        .get(kind)
        .cloned()
        .unwrap_or_else(|| default_template(kind));
    let fill = |text: &str, escape: bool| {
        let value = |v: &str| if escape { html_escape(v) } else { v.to_owned() };
        text.replace("{{link}}", &value(link))
            .replace("{{token}}", &value(token))
            .replace("{{email}}", &value(to))
            .replace("{{tenant}}", &value(&ctx.tenant.name))
    };
    Email {
        to: to.to_owned(),
        subject: fill(&template.subject, false),
        text: fill(&template.text, false),
        html: fill(&template.html, true),
        token: Some(token.to_owned()),
        link: Some(link.to_owned()),
    }
}
