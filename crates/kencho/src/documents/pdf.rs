//! Renders kencho's signed documents (the 決定通知書 and the 領収書) as tagged PDFs in Japanese.
//! Every document is a list of [`Block`]s laid out and set by [`render`]; each kind only says
//! what its blocks are.
//!
//! The text is set in IPAexGothic (IPA Font License v1.0, `assets/fonts/`), which krilla embeds
//! as a subset. The document carries its language (ja), title and author, and a structure tree
//! (H1, H2, P) in reading order, so screen readers and text extraction follow it. Rendering is
//! pure CPU work with no I/O: callers run it on a blocking thread.

use std::num::NonZeroU16;
use std::sync::LazyLock;

use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;
use krilla::tagging::{ArtifactType, ContentTag, Identifier, SpanTag, Tag, TagGroup, TagKind, TagTree};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

use super::LANG;
use crate::i18n::{t, tf};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/ipaexg.ttf");

/// Parsed once per process (parsing hashes the whole 6 MB file).
static FONT: LazyLock<Option<Font>> = LazyLock::new(|| Font::new(FONT_BYTES.into(), 0));

/// The font's PostScript name, as it appears (after the subset tag) in the PDF.
pub const FONT_NAME: &str = "IPAexGothic";

/// Put into the document's XMP metadata (`pdf:Keywords`, UTF-8), so an altered copy still
/// says which document it claims to be.
pub const NUMBER_MARKER: &str = "kencho-document-number:";

/// What a decision notice says.
#[derive(Debug, Clone)]
pub struct NoticeContent {
    pub number: String,
    /// Document title, e.g. `決定通知書（犬の登録申請）`.
    pub title: String,
    pub tenant_name: String,
    pub division_name: String,
    pub resident_name: String,
    pub procedure_title: String,
    pub receipt_number: String,
    /// Approved, denied or rejected (却下).
    pub outcome: kencho_core::application::Status,
    /// What the staff member wrote with the decision.
    pub notice_text: String,
    /// Epoch milliseconds.
    pub issued_at: i64,
    pub submitted_at: Option<i64>,
    /// `{base_url}/verify-document`.
    pub verify_url: String,
    pub key_id: String,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 64.0;
const TOP: f32 = 72.0;
const BOTTOM: f32 = 780.0;
pub(super) const BODY: f32 = 10.5;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Align {
    Left,
    Right,
    Center,
}

pub(super) enum Block {
    /// A heading of level 1 or 2.
    Heading(u16, String),
    /// A paragraph: its lines are wrapped to the measure.
    Para { text: String, size: f32, align: Align, indent: f32 },
    /// Vertical space.
    Gap(f32),
    /// A thin rule (decoration: an artifact).
    Rule,
}

/// Where one line of text goes.
struct Placed {
    page: usize,
    block: usize,
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

/// Estimated advance of a character in em: IPAexGothic sets kana and kanji full width and
/// Latin proportionally; half an em and a bit is a safe estimate for the latter.
fn em(c: char) -> f32 {
    match c {
        ' '..='~' => 0.56,
        '\u{FF61}'..='\u{FF9F}' => 0.5,
        _ => 1.0,
    }
}

fn width(s: &str, size: f32) -> f32 {
    s.chars().map(em).sum::<f32>() * size
}

/// Characters that must not begin a line (禁則): they hang at the end of the previous one.
fn no_break_before(c: char) -> bool {
    "、。，．）」』】〕！？ー・：；,.)!?:;".contains(c)
}

/// Wraps text to `max` points, keeping explicit line breaks; control characters are dropped.
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for raw in text.split('\n') {
        let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
        let mut line = String::new();
        let mut w = 0.0;
        for c in clean.chars() {
            let cw = em(c) * size;
            if w + cw > max && !line.is_empty() && !no_break_before(c) {
                // A Latin word or number (a receipt number, a URL) moves down whole when it
                // fits on a line of its own.
                let word = |ch: char| ch.is_ascii_graphic();
                let carry: String = if word(c) {
                    let tail: Vec<char> = line.chars().rev().take_while(|ch| word(*ch)).collect();
                    if tail.len() < line.chars().count()
                        && width(&line, size) - width(&tail.iter().collect::<String>(), size) > 0.0
                    {
                        tail.into_iter().rev().collect()
                    } else {
                        String::new()
                    }
                } else {
                    String::new()
                };
                let keep = line.chars().count() - carry.chars().count();
                let head: String = line.chars().take(keep).collect();
                lines.push(head);
                w = width(&carry, size);
                line = carry;
            }
            line.push(c);
            w += cw;
        }
        lines.push(line);
    }
    lines
}

/// `令和8年5月1日（2026年5月1日）`.
pub(super) fn date_both(ms: i64) -> String {
    let d = crate::clock::date_at(ms);
    format!("{}（{}年{}月{}日）", kencho_core::wareki::format_ja(d), d.year(), d.month() as u8, d.day())
}

fn blocks(c: &NoticeContent) -> Vec<Block> {
    let para = |text: String| Block::Para { text, size: BODY, align: Align::Left, indent: 0.0 };
    let right = |text: String| Block::Para { text, size: BODY, align: Align::Right, indent: 0.0 };
    let decision = kencho_core::notice::outcome_words(c.outcome).map_or("-", |(_, word)| word);
    let authority = kencho_core::notice::authority(&c.tenant_name);
    let submitted = c.submitted_at.map(date_both).unwrap_or_else(|| "-".into());
    let notice = if c.notice_text.trim().is_empty() { t(LANG, "doc.notice.no_text") } else { c.notice_text.clone() };
    let reason = if c.outcome == kencho_core::application::Status::Approved {
        "doc.notice.reason_approved"
    } else {
        "doc.notice.reason"
    };
    let on_procedure = [("procedure", c.procedure_title.as_str()), ("receipt", c.receipt_number.as_str())];
    let mut out = vec![
        right(c.number.clone()),
        right(date_both(c.issued_at)),
        Block::Gap(12.0),
        Block::Para { text: addressee(&c.resident_name), size: 12.0, align: Align::Left, indent: 0.0 },
        Block::Gap(8.0),
        // The 処分 is the 行政庁's; the section that did the work is named as the contact.
        right(authority.clone()),
        right(tf(LANG, "doc.notice.contact", &[("division", &c.division_name)])),
        Block::Gap(18.0),
        Block::Heading(1, c.title.clone()),
        Block::Gap(10.0),
        para(tf(LANG, "doc.notice.lead", &[("submitted", submitted.as_str()), on_procedure[0], on_procedure[1]])),
        Block::Gap(8.0),
        Block::Heading(2, t(LANG, "doc.notice.decision")),
        Block::Para { text: decision.into(), size: 12.0, align: Align::Left, indent: 12.0 },
        Block::Gap(6.0),
        Block::Heading(2, t(LANG, reason)),
        Block::Para { text: notice, size: BODY, align: Align::Left, indent: 12.0 },
        Block::Gap(6.0),
        Block::Heading(2, t(LANG, "doc.notice.procedure")),
        Block::Para {
            text: tf(LANG, "doc.notice.procedure_line", &on_procedure),
            size: BODY,
            align: Align::Left,
            indent: 12.0,
        },
        Block::Gap(6.0),
        Block::Heading(2, t(LANG, "doc.notice.kyouji")),
    ];
    for line in kencho_core::notice::kyouji(&authority, &c.tenant_name) {
        out.push(Block::Para { text: line, size: BODY, align: Align::Left, indent: 12.0 });
    }
    let what = t(LANG, "doc.notice.what");
    out.into_iter()
        .chain(signature_section(&Signature {
            what: &what,
            number: &c.number,
            tenant_name: &c.tenant_name,
            division_name: &c.division_name,
            key_id: &c.key_id,
            verify_url: &c.verify_url,
        }))
        .collect()
}

/// `福島 太郎 様`: whom a document is addressed to.
pub(super) fn addressee(name: &str) -> String {
    tf(LANG, "doc.addressee", &[("name", name)])
}

/// Who signed a document and where to check it, for its closing section.
pub(super) struct Signature<'a> {
    /// What the document calls itself: `通知書`, `領収書`.
    pub what: &'a str,
    pub number: &'a str,
    pub tenant_name: &'a str,
    pub division_name: &'a str,
    pub key_id: &'a str,
    pub verify_url: &'a str,
}

/// The closing section every signed document ends with: that it is signed, with which key,
/// and where anyone can check it.
pub(super) fn signature_section(s: &Signature<'_>) -> Vec<Block> {
    let para = |text: String| Block::Para { text, size: BODY, align: Align::Left, indent: 0.0 };
    let signed =
        [("what", s.what), ("tenant", s.tenant_name), ("algorithm", super::keys::ALGORITHM), ("key_id", s.key_id)];
    vec![
        Block::Gap(14.0),
        Block::Rule,
        Block::Gap(4.0),
        Block::Heading(2, t(LANG, "doc.signature.heading")),
        para(tf(LANG, "doc.signature.signed", &signed)),
        para(tf(LANG, "doc.signature.verify", &[("number", s.number), ("url", s.verify_url)])),
        para(tf(LANG, "doc.signature.issuer", &[("tenant", s.tenant_name), ("division", s.division_name)])),
    ]
}

/// Lays the blocks out on pages; returns the lines and the number of pages.
fn layout(blocks: &[Block]) -> (Vec<Placed>, usize) {
    let measure = PAGE_W - 2.0 * MARGIN_X;
    let (mut page, mut y) = (0usize, TOP);
    let mut out = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let (lines, size, align, indent) = match b {
            Block::Gap(g) => {
                y += g;
                continue;
            }
            Block::Rule => {
                y += 6.0;
                continue;
            }
            Block::Heading(1, t) => (wrap(t, 16.0, measure), 16.0, Align::Center, 0.0),
            Block::Heading(_, t) => (wrap(t, 12.0, measure), 12.0, Align::Left, 0.0),
            Block::Para { text, size, align, indent } => (wrap(text, *size, measure - indent), *size, *align, *indent),
        };
        for text in lines {
            let lead = size * 1.7;
            if y + lead > BOTTOM {
                page += 1;
                y = TOP;
            }
            y += lead;
            let x = match align {
                Align::Left => MARGIN_X + indent,
                Align::Right => (PAGE_W - MARGIN_X - width(&text, size)).max(MARGIN_X),
                Align::Center => ((PAGE_W - width(&text, size)) / 2.0).max(MARGIN_X),
            };
            out.push(Placed { page, block: i, x, y, size, text });
        }
    }
    (out, page + 1)
}

fn creation_date(ms: i64) -> DateTime {
    let t = crate::clock::at(ms);
    DateTime::new(t.year().clamp(0, 9999) as u16)
        .month(t.month() as u8)
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second())
        .utc_offset_hour(9)
        .utc_offset_minute(0)
}

fn draw_rule(surface: &mut Surface, y: f32) {
    let mut pb = PathBuilder::new();
    pb.move_to(MARGIN_X, y);
    pb.line_to(PAGE_W - MARGIN_X, y);
    if let Some(path) = pb.finish() {
        surface.start_tagged(ContentTag::Artifact(krilla::tagging::Artifact::with_kind(ArtifactType::Layout)));
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke { width: 0.5, ..Default::default() }));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.end_tagged();
    }
}

/// Renders the notice. The output depends only on `c`.
pub fn render_notice(c: &NoticeContent) -> Result<Vec<u8>, String> {
    let meta = Meta {
        number: &c.number,
        title: &c.title,
        author: format!("{} {}", c.tenant_name, c.division_name),
        issued_at: c.issued_at,
    };
    render(&meta, &blocks(c))
}

/// What a document's metadata says.
pub(super) struct Meta<'a> {
    pub number: &'a str,
    pub title: &'a str,
    pub author: String,
    /// Epoch milliseconds.
    pub issued_at: i64,
}

/// Lays out and sets blocks as a tagged PDF. The output depends only on the arguments.
pub(super) fn render(meta: &Meta<'_>, blocks: &[Block]) -> Result<Vec<u8>, String> {
    let font = FONT.clone().ok_or("the embedded font cannot be read")?;
    let (placed, pages) = layout(blocks);
    // Where the rules go: just above the first line after them.
    let rules: Vec<(usize, f32)> = blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Block::Rule))
        .filter_map(|(i, _)| placed.iter().find(|p| p.block > i).map(|p| (p.page, p.y - p.size * 2.2)))
        .collect();
    let settings = SerializeSettings { enable_tagging: true, ..Default::default() };
    let mut doc = Document::new_with(settings);
    let mut ids: Vec<Vec<Identifier>> = (0..blocks.len()).map(|_| Vec::new()).collect();
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("bad page size")?;
    for n in 0..pages {
        let mut page = doc.start_page_with(page_settings.clone());
        let mut surface = page.surface();
        for p in placed.iter().filter(|p| p.page == n) {
            let id = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
            surface.draw_text(Point::from_xy(p.x, p.y), font.clone(), p.size, &p.text, false, TextDirection::Auto);
            surface.end_tagged();
            if let Some(list) = ids.get_mut(p.block) {
                list.push(id);
            }
        }
        for (_, y) in rules.iter().filter(|(pg, _)| *pg == n) {
            draw_rule(&mut surface, *y);
        }
        surface.finish();
        page.finish();
    }
    let mut tree = TagTree::new().with_lang(Some(LANG.into()));
    for (b, list) in blocks.iter().zip(ids) {
        if list.is_empty() {
            continue;
        }
        let kind: TagKind = match b {
            Block::Heading(level, t) => {
                Tag::Hn(NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN), Some(t.clone())).into()
            }
            _ => Tag::P.into(),
        };
        let mut group = TagGroup::new(kind);
        for id in list {
            group.push(id);
        }
        tree.push(group);
    }
    doc.set_tag_tree(tree);
    doc.set_metadata(
        Metadata::new()
            .title(meta.title.to_string())
            .language(LANG.into())
            .authors(vec![meta.author.clone()])
            .description(format!("{} {}", meta.number, meta.title))
            .keywords(vec![format!("{NUMBER_MARKER}{}", meta.number)])
            .creator("kencho".into())
            .producer("kencho (krilla)".into())
            .creation_date(creation_date(meta.issued_at)),
    );
    doc.finish().map_err(|e| format!("PDF export failed: {e:?}"))
}

/// The document number an (altered or not) PDF of ours names in its metadata, if any.
pub fn claimed_number(pdf: &[u8]) -> Option<String> {
    let marker = NUMBER_MARKER.as_bytes();
    let at = pdf.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let rest = &pdf[at..];
    let end = rest.iter().position(|b| matches!(b, b'<' | b'"' | b'\'' | b'\n' | b'\r' | b' ' | b')' | b',' | 0))?;
    let s = std::str::from_utf8(&rest[..end]).ok()?;
    (!s.is_empty() && s.len() <= 100).then(|| s.to_string())
}

#[cfg(test)]
pub(crate) fn sample() -> NoticeContent {
    NoticeContent {
        number: "MNS-通知-2026-000042".into(),
        title: "決定通知書（犬の登録申請）".into(),
        tenant_name: "南相馬市".into(),
        division_name: "市民生活課".into(),
        resident_name: "福島 太郎".into(),
        procedure_title: "犬の登録申請".into(),
        receipt_number: "MNS-2026-0000042-3".into(),
        outcome: kencho_core::application::Status::Approved,
        notice_text: "登録しました。鑑札を郵送します。\n到着まで一週間ほどお待ちください。".into(),
        issued_at: 1_780_000_000_000,
        submitted_at: Some(1_779_000_000_000),
        verify_url: "http://127.0.0.1:8080/verify-document".into(),
        key_id: "minamisoma-20260528-0a1b2c3d".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_tagged_pdf_with_the_font_and_the_number() {
        let pdf = render_notice(&sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(FONT_NAME), "font embedded");
        assert!(text.contains("/FontFile2") || text.contains("/FontFile3"), "font program embedded");
        assert!(text.contains("/StructTreeRoot"), "tagged");
        assert!(text.contains("/Lang"), "language set");
        assert_eq!(claimed_number(&pdf).as_deref(), Some("MNS-通知-2026-000042"));
        // Subset: far smaller than the 6 MB font.
        assert!(pdf.len() < 300_000, "{} bytes", pdf.len());
    }

    #[test]
    fn long_notices_flow_onto_more_pages() {
        let mut c = sample();
        c.notice_text = "長い理由の文章です。".repeat(400);
        let pdf = render_notice(&c).unwrap();
        std::fs::write(std::env::temp_dir().join("kencho-notice-long.pdf"), &pdf).ok();
        std::fs::write(std::env::temp_dir().join("kencho-notice-sample.pdf"), render_notice(&sample()).unwrap()).ok();
        assert!(!String::from_utf8_lossy(&pdf).contains("/Type/Pages/Count 1/"), "more than one page");
        let (_, pages) = layout(&blocks(&c));
        assert!(pages >= 2);
    }

    fn texts(c: &NoticeContent) -> Vec<String> {
        blocks(c)
            .into_iter()
            .filter_map(|b| match b {
                Block::Para { text, .. } | Block::Heading(_, text) => Some(text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn notices_name_the_authority_and_how_to_appeal() {
        let mut c = sample();
        c.outcome = kencho_core::application::Status::Rejected;
        let t = texts(&c);
        assert!(t.iter().any(|l| l == "南相馬市長"), "the 行政庁 signs, not the section: {t:?}");
        assert!(t.iter().any(|l| l == "（担当：市民生活課）"));
        assert!(t.iter().any(|l| l == "却下"));
        let kyouji = t.iter().position(|l| l == "教示").expect("a 教示 section");
        assert!(t[kyouji + 1].contains("南相馬市長に対して審査請求") && t[kyouji + 1].contains("3か月以内"));
        assert!(t[kyouji + 2].contains("南相馬市を被告") && t[kyouji + 2].contains("6か月以内"));
    }

    #[test]
    fn wrapping_keeps_punctuation_off_line_starts() {
        let lines = wrap("あいうえお。かきくけこ", 10.0, 50.0);
        assert_eq!(lines[0], "あいうえお。");
        assert!(lines.iter().all(|l| !l.starts_with('。')));
        assert_eq!(wrap("a\nb", 10.0, 100.0), vec!["a", "b"]);
        // Numbers are not split when they fit on a line.
        assert_eq!(wrap("番号 MNS-2026-1", 10.0, 80.0), vec!["番号 ", "MNS-2026-1"]);
    }
}
