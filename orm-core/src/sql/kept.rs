//! Statement texts kept by key: a statement whose [`Key`] was written
//! before takes its text from here, and is walked only for its key and
//! its values.
//!
//! A query's statement is walked through the one rendering code with a
//! [`SqlWriter::key_only`] writer, which records the key (what decides the
//! text: see [`Key`]) and the values in one pass, writing no text. When a
//! text is kept under that key, it is sent with those values; otherwise
//! the statement is rendered and its text kept.
//! Text, values and key come from the same calls, so a kept text always
//! has the placeholders of the values it is sent with.
//!
//! A statement by one `field = value` on an otherwise plain query set (a
//! get, an update of up to two fields, a delete) is found first by a small
//! key ([`ByKey`]: no filter tree built, nothing walked) in a per-thread
//! cache ([`BY_KEY_TEXTS`]), which holds the texts the full path kept for
//! such statements. Its values are the assigned ones, then the one the
//! field is compared with, as the `UPDATE .. SET .. WHERE ..` and `SELECT
//! .. WHERE ..` of such a query bind them.
//!
//! A model is told apart by the address of its metadata (one `static` per
//! model, which `#[derive(Model)]` emits, so one address whichever crate
//! reads it), a field by its position in its model. Were a model's
//! metadata a constant, copied into each crate that uses it, its copies
//! would only be kept apart (two keys, one text).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::RwLock;

use rustc_hash::FxBuildHasher;

use crate::meta::{FieldMeta, ModelMeta};
use crate::sql::tree::{Set, ACROSS_RELATION};
use crate::sql::Key;
#[cfg(doc)]
use crate::sql::SqlWriter;

/// Texts kept at most; later ones are rendered every time.
const MAX_TEXTS: usize = 4096;

/// Texts by key. They live as long as the program (at most [`MAX_TEXTS`]
/// of them, never removed), so they are handed out as `&'static str`: a
/// hit copies nothing.
static TEXTS: RwLock<HashMap<Box<[u64]>, &'static str, FxBuildHasher>> =
    RwLock::new(HashMap::with_hasher(FxBuildHasher));

/// The text kept under `key`, if any.
pub(crate) fn text(key: &Key) -> Option<&'static str> {
    let texts = TEXTS.read().unwrap_or_else(|e| e.into_inner());
    texts.get(&key.0[..]).copied()
}

/// Keeps `sql` as the text of `key` (up to [`MAX_TEXTS`] texts); the text
/// kept, or `None` when full.
pub(crate) fn remember(key: &Key, sql: &str) -> Option<&'static str> {
    // Full for good: say so without queueing for the write lock.
    if TEXTS.read().unwrap_or_else(|e| e.into_inner()).len() >= MAX_TEXTS {
        return None;
    }
    let mut texts = TEXTS.write().unwrap_or_else(|e| e.into_inner());
    if let Some(&kept) = texts.get(&key.0[..]) {
        return Some(kept);
    }
    if texts.len() >= MAX_TEXTS {
        return None;
    }
    let kept: &'static str = Box::leak(sql.into());
    texts.insert(key.0[..].into(), kept);
    Some(kept)
}

/// Which statement by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select = 1,
    Update,
    Delete,
}

/// The most assigned fields an `UPDATE` by key takes its text from
/// [`BY_KEY_TEXTS`] with; more take the full path.
const KEY_SETS: usize = 2;

/// What decides the text of a statement by one `field = value` on a plain
/// query set (no other filter, ordering, slice, `DISTINCT`, relation or
/// lock): its kind, the model's address and the field's position, a get's
/// `LIMIT` and an update's assigned fields (plain values of the model's
/// own fields). Its text is the one the full path kept for such a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByKey {
    kind: Kind,
    meta: usize,
    field: usize,
    limit: Option<i64>,
    /// The assigned fields' positions plus one, then zeros.
    set_fields: [usize; KEY_SETS],
}

impl ByKey {
    /// `get(field = value)`, with `get()`'s `limit`.
    #[inline]
    pub(crate) fn get(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        limit: Option<i64>,
    ) -> ByKey {
        ByKey::new(Kind::Select, meta, field, limit, &[])
    }

    /// `update(sets)`; `None` when `sets` are not plain values of the
    /// model's own fields, or more than [`KEY_SETS`].
    #[inline]
    pub(crate) fn update(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        sets: &[Set],
    ) -> Option<ByKey> {
        let plain = sets
            .iter()
            .all(|set| set.expr.is_none() && set.index != ACROSS_RELATION);
        (plain && !sets.is_empty() && sets.len() <= KEY_SETS)
            .then(|| ByKey::new(Kind::Update, meta, field, None, sets))
    }

    /// `delete()`.
    #[inline]
    pub(crate) fn delete(meta: &'static ModelMeta, field: &'static FieldMeta) -> ByKey {
        ByKey::new(Kind::Delete, meta, field, None, &[])
    }

    #[inline]
    fn new(
        kind: Kind,
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        limit: Option<i64>,
        sets: &[Set],
    ) -> ByKey {
        let mut set_fields = [0; KEY_SETS];
        for (word, set) in set_fields.iter_mut().zip(sets) {
            *word = set.field.position + 1;
        }
        ByKey {
            kind,
            meta: std::ptr::from_ref(meta) as usize,
            field: field.position,
            limit,
            set_fields,
        }
    }

    /// The text kept for this statement on this thread, if any.
    #[inline(always)]
    pub(crate) fn text(&self) -> Option<&'static str> {
        // No destructor (the slots are `Copy`), so `with` cannot fail.
        let hit = BY_KEY_TEXTS.with(|slots| match slots[self.slot()].get() {
            Some((cached, sql)) if cached == *self => Some(sql),
            _ => None,
        });
        #[cfg(test)]
        if hit.is_some() {
            CACHED_KEY_TEXTS.set(CACHED_KEY_TEXTS.get() + 1);
        }
        hit
    }

    /// Keeps `sql`, the text the full path sent for this statement, in
    /// this thread's slot.
    pub(crate) fn remember(&self, sql: &'static str) {
        BY_KEY_TEXTS.with(|slots| slots[self.slot()].set(Some((*self, sql))));
    }

    /// Its slot in [`BY_KEY_TEXTS`]: the top bits of a multiplicative hash
    /// of the key (models lie at a fixed stride, which a plain remainder
    /// could send to one slot).
    #[inline(always)]
    fn slot(&self) -> usize {
        let limit = self.limit.map_or(0, |l| l as u64 ^ (1 << 63));
        let mut mixed = (self.field as u64)
            ^ (self.meta as u64).rotate_left(29)
            ^ limit
            ^ ((self.kind as u64) << 56);
        for &field in &self.set_fields {
            mixed = mixed.rotate_left(17) ^ field as u64;
        }
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - KEY_SLOT_BITS)) as usize
    }
}

/// Slots in [`BY_KEY_TEXTS`]: `1 << KEY_SLOT_BITS` (gets, updates and
/// deletes share them).
const KEY_SLOT_BITS: u32 = 4;
const KEY_SLOTS: usize = 1 << KEY_SLOT_BITS;

thread_local! {
    /// Kept texts of statements by key ([`ByKey`]: a get, an update or a
    /// delete by one `field = value`), one per slot, per thread: repeated
    /// on a thread, such a statement finds its text without building a
    /// filter tree, walking it or taking [`TEXTS`]' lock.
    static BY_KEY_TEXTS: [Cell<Option<(ByKey, &'static str)>>; KEY_SLOTS] =
        const { [const { Cell::new(None) }; KEY_SLOTS] };
}

#[cfg(test)]
thread_local! {
    /// Texts found in [`BY_KEY_TEXTS`] on this thread (unit tests).
    pub(crate) static CACHED_KEY_TEXTS: Cell<usize> = const { Cell::new(0) };
}
