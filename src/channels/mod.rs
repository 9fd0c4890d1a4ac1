//! Customer channels: WhatsApp (Cloud API) today, email next.

pub mod whatsapp;
