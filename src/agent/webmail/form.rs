//! The fields a browser sends: a query string, an
//! `application/x-www-form-urlencoded` body (form_urlencoded), or a
//! `multipart/form-data` body with files (RFC 7578), which is MIME and so
//! read by the MIME parser the mail client already uses (mail-parser),
//! each part's bytes taken exactly as sent.

use mail_parser::{MessageParser, MimeHeaders};

/// A file sent with a form.
#[derive(Debug, PartialEq, Eq)]
pub struct Upload {
    pub field: String,
    /// The file name the browser gave (may be empty).
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form is sent as {0}, not as a form")]
    Type(String),
    #[error("the multipart form has no boundary")]
    NoBoundary,
    #[error("the multipart form cannot be read")]
    Multipart,
}

impl Form {
    /// The first value of field `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The fields of a query string or urlencoded body.
pub fn urlencoded(bytes: &[u8]) -> Form {
    Form {
        fields: form_urlencoded::parse(bytes).into_owned().collect(),
        files: Vec::new(),
    }
}

/// A POST body by its Content-Type.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Form, FormError> {
    let content_type = content_type.unwrap_or("application/x-www-form-urlencoded");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Ok(urlencoded(body)),
        "multipart/form-data" => multipart(content_type, body),
        _ => Err(FormError::Type(essence.chars().take(60).collect())),
    }
}

fn multipart(content_type: &str, body: &[u8]) -> Result<Form, FormError> {
    if !content_type.to_ascii_lowercase().contains("boundary=")
        || content_type.contains(['\r', '\n'])
    {
        return Err(FormError::NoBoundary);
    }
    // The body with its Content-Type header in front is a MIME message.
    let mut raw = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    raw.extend_from_slice(body);
    let message = MessageParser::new()
        .with_mime_headers()
        .parse(&raw)
        .ok_or(FormError::Multipart)?;
    let mut form = Form::default();
    for part in message.parts.iter().skip(1).filter(|p| !p.is_multipart()) {
        let Some(disposition) = part.content_disposition() else {
            continue;
        };
        let Some(field) = disposition.attribute("name") else {
            continue;
        };
        let bytes = raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_default()
            .to_vec();
        match disposition.attribute("filename") {
            Some(name) => form.files.push(Upload {
                field: field.to_string(),
                name: name.to_string(),
                bytes,
            }),
            None => form.fields.push((
                field.to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )),
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlencoded_fields() {
        let form = parse(None, b"user=bob&password=s%26cret+x&csrf=ab").unwrap();
        assert_eq!(form.get("password"), "s&cret x");
        assert_eq!(form.get("missing"), "");
        assert!(matches!(
            parse(Some("text/plain"), b"x"),
            Err(FormError::Type(_))
        ));
    }

    #[test]
    fn reads_multipart_fields_and_files_byte_for_byte() {
        let file: Vec<u8> = (0..=255u8).chain(b"\r\n--x\r\n".iter().copied()).collect();
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nalice@uts.edu.au\r\n--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nline 1\r\nline 2\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        body.extend_from_slice(&file);
        body.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n");
        let form = parse(Some("multipart/form-data; boundary=XyZ"), &body).unwrap();
        assert_eq!(form.get("to"), "alice@uts.edu.au");
        assert_eq!(form.get("body"), "line 1\r\nline 2");
        assert_eq!(form.files[0].name, "data.bin");
        assert_eq!(form.files[0].bytes, file);
        // No file chosen: nothing to attach, whichever way it is read.
        assert!(form.files.iter().skip(1).all(|f| f.bytes.is_empty()));
        assert_eq!(
            parse(Some("multipart/form-data"), b""),
            Err(FormError::NoBoundary)
        );
    }
}
