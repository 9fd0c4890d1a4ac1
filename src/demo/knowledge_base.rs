//! The demo's knowledge base: categories nested one level, and articles in English, Spanish and
//! Portuguese (one article, three translations, each its own slug), published so the public site
//! at `/help` has something to show, plus one English draft only staff see. Ana Agent is a
//! `kb_editor`, so an agent can try editing too.

use switchboard_actors::domain::{AccountId, UserId};
use switchboard_actors::knowledge_base::{ArticleStatus, KB_EDITOR, KbCategoryId, NewArticle, NewKbCategory};
use switchboard_actors::store::Store;

/// One article: its category's slug, then `(locale, slug, title, body)` per translation.
struct DemoArticle {
    category: &'static str,
    translations: [(&'static str, &'static str, &'static str, &'static str); 3],
}

const CATEGORIES: &[(&str, &str, Option<&str>)] = &[
    ("Getting started", "getting-started", None),
    ("Your account", "account", None),
    ("Sign-in and security", "security", Some("account")),
    ("Billing", "billing", None),
    ("Refunds", "refunds", Some("billing")),
];

const ARTICLES: &[DemoArticle] = &[
    DemoArticle {
        category: "security",
        translations: [
            (
                "en",
                "reset-your-password",
                "Reset your password",
                "Forgot your password? You can set a new one in a minute.\n\n1. Open the portal and choose **Forgot password**.\n2. Enter your email address.\n3. Open the link we email you (it works for 30 minutes) and choose a new password.\n\nEvery other session is signed out when the password changes.",
            ),
            (
                "es",
                "restablecer-tu-contrasena",
                "Restablecer tu contraseña",
                "¿Olvidaste tu contraseña? Puedes crear una nueva en un minuto.\n\n1. Abre el portal y elige **Olvidé mi contraseña**.\n2. Escribe tu correo electrónico.\n3. Abre el enlace que te enviamos (vale 30 minutos) y elige una contraseña nueva.\n\nLas demás sesiones se cierran al cambiar la contraseña.",
            ),
            (
                "pt",
                "redefinir-sua-senha",
                "Redefinir sua senha",
                "Esqueceu sua senha? Você cria uma nova em um minuto.\n\n1. Abra o portal e escolha **Esqueci minha senha**.\n2. Digite seu e-mail.\n3. Abra o link que enviamos (vale 30 minutos) e escolha uma nova senha.\n\nAs outras sessões são encerradas quando a senha muda.",
            ),
        ],
    },
    DemoArticle {
        category: "security",
        translations: [
            (
                "en",
                "sign-in-with-a-code",
                "Sign in with a one-time code",
                "No password needed: ask for a **6-digit code** by email or WhatsApp and type it in.\n\n- A code works for 10 minutes.\n- After 5 wrong tries, ask for a new one.\n\nCodes are never sent to anyone else: keep them to yourself.",
            ),
            (
                "es",
                "iniciar-sesion-con-un-codigo",
                "Iniciar sesión con un código",
                "Sin contraseña: pide un **código de 6 dígitos** por correo o WhatsApp y escríbelo.\n\n- Un código vale 10 minutos.\n- Tras 5 intentos fallidos, pide uno nuevo.\n\nNunca compartas tus códigos con nadie.",
            ),
            (
                "pt",
                "entrar-com-um-codigo",
                "Entrar com um código",
                "Sem senha: peça um **código de 6 dígitos** por e-mail ou WhatsApp e digite-o.\n\n- Um código vale 10 minutos.\n- Depois de 5 tentativas erradas, peça outro.\n\nNunca compartilhe seus códigos.",
            ),
        ],
    },
    DemoArticle {
        category: "getting-started",
        translations: [
            (
                "en",
                "contact-us-on-whatsapp",
                "Contact us on WhatsApp",
                "Write to our business number on WhatsApp any time. We answer in the same chat.\n\nIf we reply more than 24 hours after your last message, WhatsApp only lets us send a short template: answer it and the conversation carries on.",
            ),
            (
                "es",
                "contactanos-por-whatsapp",
                "Contáctanos por WhatsApp",
                "Escribe a nuestro número de empresa en WhatsApp cuando quieras. Respondemos en el mismo chat.\n\nSi respondemos más de 24 horas después de tu último mensaje, WhatsApp solo nos deja enviar una plantilla corta: contéstala y la conversación continúa.",
            ),
            (
                "pt",
                "fale-conosco-pelo-whatsapp",
                "Fale conosco pelo WhatsApp",
                "Escreva para o nosso número comercial no WhatsApp quando quiser. Respondemos na mesma conversa.\n\nSe respondermos mais de 24 horas depois da sua última mensagem, o WhatsApp só nos deixa enviar um modelo curto: responda e a conversa continua.",
            ),
        ],
    },
    DemoArticle {
        category: "getting-started",
        translations: [
            (
                "en",
                "follow-your-tickets",
                "Follow your tickets in the portal",
                "Every request you send by email, WhatsApp or the web becomes a **ticket**. In the portal you can see them all, reply with attachments, and reopen one that was resolved too soon.",
            ),
            (
                "es",
                "sigue-tus-tickets",
                "Sigue tus tickets en el portal",
                "Cada solicitud que envías por correo, WhatsApp o la web se convierte en un **ticket**. En el portal puedes verlos todos, responder con adjuntos y reabrir uno que se resolvió antes de tiempo.",
            ),
            (
                "pt",
                "acompanhe-seus-chamados",
                "Acompanhe seus chamados no portal",
                "Cada pedido que você envia por e-mail, WhatsApp ou pela web vira um **chamado**. No portal você vê todos, responde com anexos e reabre um que foi resolvido cedo demais.",
            ),
        ],
    },
    DemoArticle {
        category: "refunds",
        translations: [
            (
                "en",
                "when-will-i-get-my-refund",
                "When will I get my refund?",
                "Once we issue a refund it usually shows on your statement within **3–5 business days**.\n\n| Payment method | Typical time |\n|---|---|\n| Card | 3–5 business days |\n| Bank transfer | up to 7 business days |\n\nStill nothing after that? Reply to your ticket with the date of the charge.",
            ),
            (
                "es",
                "cuando-recibire-mi-reembolso",
                "¿Cuándo recibiré mi reembolso?",
                "Cuando emitimos un reembolso suele aparecer en tu extracto en **3 a 5 días hábiles**.\n\n| Medio de pago | Plazo habitual |\n|---|---|\n| Tarjeta | 3 a 5 días hábiles |\n| Transferencia | hasta 7 días hábiles |\n\n¿Sigues sin verlo? Responde a tu ticket con la fecha del cargo.",
            ),
            (
                "pt",
                "quando-recebo-meu-reembolso",
                "Quando recebo meu reembolso?",
                "Depois que emitimos um reembolso, ele costuma aparecer na sua fatura em **3 a 5 dias úteis**.\n\n| Forma de pagamento | Prazo habitual |\n|---|---|\n| Cartão | 3 a 5 dias úteis |\n| Transferência | até 7 dias úteis |\n\nAinda nada? Responda ao seu chamado com a data da cobrança.",
            ),
        ],
    },
    DemoArticle {
        category: "billing",
        translations: [
            (
                "en",
                "download-an-invoice",
                "Download an invoice",
                "Invoices are emailed as PDF when a payment goes through. Need a copy? Open a ticket with the month and we will send it again.",
            ),
            (
                "es",
                "descargar-una-factura",
                "Descargar una factura",
                "Las facturas se envían en PDF por correo cuando se confirma un pago. ¿Necesitas una copia? Abre un ticket con el mes y te la reenviamos.",
            ),
            (
                "pt",
                "baixar-uma-fatura",
                "Baixar uma nota fiscal",
                "As notas são enviadas em PDF por e-mail quando um pagamento é confirmado. Precisa de uma cópia? Abra um chamado com o mês e reenviamos.",
            ),
        ],
    },
];

/// Seeds the knowledge base; `author` writes every article, `editor` gets `kb_editor`.
pub async fn seed(store: &dyn Store, account: AccountId, author: UserId, editor: UserId) -> anyhow::Result<()> {
    let mut categories: Vec<(&str, KbCategoryId)> = Vec::new();
    for (name, slug, parent) in CATEGORIES {
        let parent_id =
            parent.and_then(|parent| categories.iter().find(|(known, _)| *known == parent).map(|(_, id)| *id));
        let category = store
            .create_kb_category(NewKbCategory {
                account_id: account,
                parent_id,
                name: (*name).into(),
                slug: (*slug).into(),
            })
            .await?;
        categories.push((slug, category.id));
    }
    let mut article_ids = Vec::new();
    for article in ARTICLES {
        let category_id = categories.iter().find(|(slug, _)| *slug == article.category).map(|(_, id)| *id);
        let mut article_id = None;
        for (locale, slug, title, body) in &article.translations {
            let created = store
                .create_article(NewArticle {
                    account_id: account,
                    article_id,
                    locale: (*locale).into(),
                    title: (*title).into(),
                    body: (*body).into(),
                    slug: (*slug).into(),
                    status: ArticleStatus::Published,
                    category_id: if article_id.is_none() { category_id } else { None },
                    related_ids: Vec::new(),
                    author_id: author,
                    source_ticket_id: None,
                })
                .await?;
            article_id = Some(created.id);
        }
        article_ids.extend(article_id);
    }
    // The two sign-in articles point at each other, and the refund one at the invoice one.
    if let [password, code, _, _, refund, invoice] = article_ids[..] {
        for (id, related) in [(password, code), (code, password), (refund, invoice)] {
            let patch = switchboard_actors::knowledge_base::ArticlePatch {
                related_ids: Some(vec![related]),
                ..Default::default()
            };
            store.update_article(account, id, "en", patch).await?;
        }
    }
    store
        .create_article(NewArticle {
            account_id: account,
            article_id: None,
            locale: "en".into(),
            title: "Changing your plan (draft)".into(),
            body: "Plans change at the start of the next billing month. _Needs the new price table before publishing._"
                .into(),
            slug: "changing-your-plan".into(),
            status: ArticleStatus::Draft,
            category_id: categories.iter().find(|(slug, _)| *slug == "billing").map(|(_, id)| *id),
            related_ids: Vec::new(),
            author_id: author,
            source_ticket_id: None,
        })
        .await?;
    store.set_user_permission(account, editor, KB_EDITOR, true).await?;
    Ok(())
}
