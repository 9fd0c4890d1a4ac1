//! The demo's knowledge base: categories nested one level, and a dozen articles in English,
//! Spanish and Portuguese (one article, three translations, each its own slug), published so the public site
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
    DemoArticle {
        category: "account",
        translations: [
            (
                "en",
                "verify-your-whatsapp-number",
                "Verify your WhatsApp number",
                "Link your WhatsApp number to your account and every conversation you had with us there shows up in the portal.\n\n1. In the portal, open **Profile**.\n2. Enter your WhatsApp number with its country code, for example +55 11 98765-4321.\n3. We send a 6-digit code to that number on WhatsApp. Type it in the portal.\n\nThe code works for 10 minutes. Your earlier WhatsApp tickets then appear under **My tickets**.",
            ),
            (
                "es",
                "verificar-tu-numero-de-whatsapp",
                "Verificar tu número de WhatsApp",
                "Vincula tu número de WhatsApp a tu cuenta y todas las conversaciones que tuviste con nosotros allí aparecerán en el portal.\n\n1. En el portal, abre **Perfil**.\n2. Escribe tu número de WhatsApp con el código de país, por ejemplo +34 612 345 678.\n3. Te enviamos un código de 6 dígitos por WhatsApp. Escríbelo en el portal.\n\nEl código vale 10 minutos. Tus tickets anteriores de WhatsApp aparecerán en **Mis tickets**.",
            ),
            (
                "pt",
                "verificar-seu-numero-de-whatsapp",
                "Verificar seu número de WhatsApp",
                "Vincule seu número de WhatsApp à sua conta e todas as conversas que você teve conosco por lá aparecem no portal.\n\n1. No portal, abra **Perfil**.\n2. Digite seu número de WhatsApp com o código do país, por exemplo +55 11 98765-4321.\n3. Enviamos um código de 6 dígitos pelo WhatsApp. Digite-o no portal.\n\nO código vale por 10 minutos. Seus chamados anteriores do WhatsApp aparecem em **Meus chamados**.",
            ),
        ],
    },
    DemoArticle {
        category: "account",
        translations: [
            (
                "en",
                "change-your-name-or-language",
                "Change your name or language",
                "Your name and language are yours to change at any time.\n\n1. In the portal, open **Profile**.\n2. Edit your name, or choose English, Español or Português.\n3. Choose **Save**.\n\nThe portal switches language at once, and we answer you in the language you chose whenever we can.",
            ),
            (
                "es",
                "cambiar-tu-nombre-o-idioma",
                "Cambiar tu nombre o idioma",
                "Puedes cambiar tu nombre y tu idioma cuando quieras.\n\n1. En el portal, abre **Perfil**.\n2. Edita tu nombre o elige English, Español o Português.\n3. Elige **Guardar**.\n\nEl portal cambia de idioma al instante y te respondemos en el idioma elegido siempre que podemos.",
            ),
            (
                "pt",
                "alterar-seu-nome-ou-idioma",
                "Alterar seu nome ou idioma",
                "Você pode alterar seu nome e seu idioma quando quiser.\n\n1. No portal, abra **Perfil**.\n2. Edite seu nome ou escolha English, Español ou Português.\n3. Escolha **Salvar**.\n\nO portal muda de idioma na hora e respondemos no idioma escolhido sempre que possível.",
            ),
        ],
    },
    DemoArticle {
        category: "getting-started",
        translations: [
            (
                "en",
                "attach-files-to-a-ticket",
                "Attach files to a ticket",
                "A screenshot or a photo often explains a problem faster than words.\n\n- When you open a ticket in the portal, choose **Attach files** before sending.\n- To add files later, open the ticket and attach them to your reply.\n- On WhatsApp, send the photo or document in the chat; by email, attach it to your message.\n\nEach file can be up to 16 MB.",
            ),
            (
                "es",
                "adjuntar-archivos-a-un-ticket",
                "Adjuntar archivos a un ticket",
                "Una captura de pantalla o una foto suele explicar un problema más rápido que las palabras.\n\n- Al abrir un ticket en el portal, elige **Adjuntar archivos** antes de enviarlo.\n- Para añadir archivos después, abre el ticket y adjúntalos a tu respuesta.\n- En WhatsApp, envía la foto o el documento en el chat; por correo, adjúntalo a tu mensaje.\n\nCada archivo puede pesar hasta 16 MB.",
            ),
            (
                "pt",
                "anexar-arquivos-a-um-chamado",
                "Anexar arquivos a um chamado",
                "Uma captura de tela ou uma foto costuma explicar um problema mais rápido que palavras.\n\n- Ao abrir um chamado no portal, escolha **Anexar arquivos** antes de enviar.\n- Para incluir arquivos depois, abra o chamado e anexe-os à sua resposta.\n- No WhatsApp, envie a foto ou o documento na conversa; por e-mail, anexe-o à mensagem.\n\nCada arquivo pode ter até 16 MB.",
            ),
        ],
    },
    DemoArticle {
        category: "getting-started",
        translations: [
            (
                "en",
                "reopen-a-ticket",
                "Reopen a resolved ticket",
                "Marked resolved but still not working? Reopen it rather than starting over: the team sees the whole history.\n\n1. Open the ticket in the portal.\n2. Choose **Reopen the ticket** and tell us what is still wrong.\n\nReplying to our last email or WhatsApp message reopens it too. A closed ticket cannot be reopened: open a new one and mention the old number.",
            ),
            (
                "es",
                "reabrir-un-ticket",
                "Reabrir un ticket resuelto",
                "¿Lo marcamos como resuelto pero sigue sin funcionar? Reábrelo en lugar de empezar de nuevo: el equipo ve todo el historial.\n\n1. Abre el ticket en el portal.\n2. Elige **Reabrir el ticket** y cuéntanos qué sigue mal.\n\nResponder a nuestro último correo o mensaje de WhatsApp también lo reabre. Un ticket cerrado no se puede reabrir: abre uno nuevo y menciona el número anterior.",
            ),
            (
                "pt",
                "reabrir-um-chamado",
                "Reabrir um chamado resolvido",
                "Marcamos como resolvido, mas ainda não funciona? Reabra em vez de começar de novo: a equipe vê todo o histórico.\n\n1. Abra o chamado no portal.\n2. Escolha **Reabrir o chamado** e conte o que ainda está errado.\n\nResponder ao nosso último e-mail ou mensagem no WhatsApp também o reabre. Um chamado fechado não pode ser reaberto: abra um novo e cite o número anterior.",
            ),
        ],
    },
    DemoArticle {
        category: "billing",
        translations: [
            (
                "en",
                "add-your-vat-number",
                "Add your VAT number to invoices",
                "Companies can have their VAT number printed on every invoice.\n\n1. Open a ticket with the subject **VAT number** and write the number with its country prefix (GB123456789).\n2. Tell us which invoices need reissuing, if any.\n\nNew invoices carry the number from the next billing date; reissued ones arrive by email within two working days.",
            ),
            (
                "es",
                "anadir-tu-numero-de-iva",
                "Añadir tu número de IVA a las facturas",
                "Las empresas pueden incluir su número de IVA en todas las facturas.\n\n1. Abre un ticket con el asunto **Número de IVA** y escribe el número con el prefijo del país (ESB12345678).\n2. Indícanos qué facturas hay que volver a emitir, si las hay.\n\nLas facturas nuevas llevan el número desde la próxima fecha de cobro; las reemitidas llegan por correo en dos días hábiles.",
            ),
            (
                "pt",
                "adicionar-seu-numero-fiscal",
                "Adicionar seu número fiscal às faturas",
                "Empresas podem ter o número fiscal (CNPJ ou VAT) impresso em todas as faturas.\n\n1. Abra um chamado com o assunto **Número fiscal** e escreva o número completo.\n2. Diga quais faturas precisam ser reemitidas, se houver.\n\nAs novas faturas saem com o número a partir da próxima cobrança; as reemitidas chegam por e-mail em dois dias úteis.",
            ),
        ],
    },
    DemoArticle {
        category: "refunds",
        translations: [
            (
                "en",
                "charged-twice",
                "Charged twice? Here is what to do",
                "A double charge is usually a card authorisation that drops off on its own within 3 working days.\n\n- Check your statement after 3 working days: if one charge is gone, nothing else is needed.\n- If both remain, open a ticket with the dates and amounts (a screenshot helps) and we refund the duplicate the same day.\n\nRefunds reach your card in 5 to 10 working days, depending on your bank.",
            ),
            (
                "es",
                "cobro-duplicado",
                "¿Te cobramos dos veces? Qué hacer",
                "Un cobro doble suele ser una autorización de la tarjeta que desaparece sola en 3 días hábiles.\n\n- Revisa tu extracto pasados 3 días hábiles: si uno de los cobros desapareció, no hace falta nada más.\n- Si siguen los dos, abre un ticket con las fechas y los importes (una captura ayuda) y reembolsamos el duplicado ese mismo día.\n\nLos reembolsos llegan a tu tarjeta en 5 a 10 días hábiles, según tu banco.",
            ),
            (
                "pt",
                "cobranca-duplicada",
                "Cobrado duas vezes? Veja o que fazer",
                "Uma cobrança dupla costuma ser uma autorização do cartão que some sozinha em 3 dias úteis.\n\n- Confira seu extrato depois de 3 dias úteis: se uma das cobranças sumiu, não é preciso fazer nada.\n- Se as duas continuarem, abra um chamado com as datas e os valores (uma captura ajuda) e estornamos a duplicada no mesmo dia.\n\nO estorno chega ao seu cartão em 5 a 10 dias úteis, conforme o banco.",
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
