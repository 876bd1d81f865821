//! Statement texts kept per query shape: a query whose shape was rendered
//! before takes its SQL text from here and only collects its values.
//!
//! A shape is everything that decides the text (statement kind, model,
//! filter tree, fields and lookups, ordering, `LIMIT`, whether there is an
//! `OFFSET`, the assigned fields) and none of the values. Only plain shapes
//! are kept: lookups on the queried model's own fields (no relation, `F`
//! expression, subquery or `Exists`), without `select_related`, a lock or
//! `DISTINCT ON`. For those, rendering binds the values of the assignments,
//! then of the leaves in tree order, then the offset; [`take_binds`] collects
//! them in that order. Debug builds render every hit again and compare.
//!
//! A statement by one `field = value` on an otherwise plain query set (a
//! get, an update of up to two fields, a delete) is found first by a small
//! key ([`ByKey`]: no filter tree or shape built) in a per-thread cache
//! ([`BY_KEY_TEXTS`]), then in the shared map under the shape the key
//! stands for.
//!
//! A field is told apart by its position in its model (only the queried
//! model's own fields are kept), a model by the address of its metadata:
//! one `static` per model, which `#[derive(Model)]` emits, so one address
//! whichever crate reads it. Were a model's metadata a constant, copied
//! into each crate that uses it, its copies would only be kept apart (two
//! keys, one text); and two models' metadata at one address have the same
//! contents (the compiler only merges equal constants), so the same text.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::RwLock;

use rustc_hash::FxBuildHasher;
use smallvec::{smallvec, SmallVec};

use crate::model::{FieldMeta, ModelMeta};
use crate::query::q::{Cmp, Like, Node, Op, Set, ACROSS_RELATION};
use crate::sql::condition::like_pattern;
use crate::sql::Binds;
use crate::value::Value;

/// The longest shape kept, in words: a leaf takes three, a `filter` call
/// one more, an `AND` / `OR` two; a `SELECT` up to eight, plus two per
/// ordering field. Longer queries are rendered every time.
const WORDS: usize = 64;

/// Shapes kept at most; later ones are rendered every time.
const MAX_SHAPES: usize = 4096;

/// Texts by shape. They live as long as the program (at most
/// [`MAX_SHAPES`] of them, never removed), so they are handed out as
/// `&'static str`: a hit copies nothing.
static TEXTS: RwLock<HashMap<Box<[usize]>, &'static str, FxBuildHasher>> =
    RwLock::new(HashMap::with_hasher(FxBuildHasher));

/// Which statement a shape renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Select = 1,
    Count,
    Exists,
    Update,
    Delete,
}

/// The words that decide a statement's text; `None` from a method means
/// the statement is not plain enough (or too long) to keep.
pub(crate) struct Shape {
    /// At most [`WORDS`]; inline up to 16 (a get takes 9 or 10), so a shape
    /// costs no 64-word fill.
    words: SmallVec<[usize; 16]>,
    /// How many values the filter's leaves bind ([`take_binds`]).
    pub(crate) values: usize,
}

// Node tags (first word of each node).
const ALL: usize = 1;
const LEAF: usize = 2;
const AND: usize = 3;
const OR: usize = 4;
const NOT: usize = 5;
const CALL: usize = 6;
const CALL_SAME_ROW: usize = 7;

impl Shape {
    #[inline]
    pub(crate) fn new(kind: Kind, meta: &'static ModelMeta) -> Shape {
        Shape::of_words(kind, std::ptr::from_ref(meta) as usize)
    }

    /// [`Shape::new`] from the model's address.
    #[inline]
    fn of_words(kind: Kind, meta: usize) -> Shape {
        Shape {
            words: smallvec![kind as usize, meta],
            values: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, word: usize) -> Option<()> {
        if self.words.len() >= WORDS {
            return None;
        }
        self.words.push(word);
        Some(())
    }

    #[inline]
    pub(crate) fn push_field(&mut self, field: &'static FieldMeta) -> Option<()> {
        self.push(field.position)
    }

    /// `SELECT` parts beside the filter and the ordering.
    #[inline]
    pub(crate) fn push_select(
        &mut self,
        limit: Option<i64>,
        offset: Option<i64>,
        distinct: bool,
    ) -> Option<()> {
        self.push(usize::from(distinct))?;
        self.push(usize::from(offset.is_some()))?;
        match limit {
            // Rendered as a literal: part of the text.
            Some(limit) => {
                self.push(1)?;
                self.push(limit as usize)?;
            }
            None => self.push(0)?,
        }
        Some(())
    }

    /// The assigned fields of an `UPDATE` (values only, no expressions).
    pub(crate) fn push_sets(&mut self, sets: &[Set]) -> Option<()> {
        if !plain_sets(sets) {
            return None;
        }
        self.push_set_words(sets.iter().map(|set| set.field.position))
    }

    /// The assigned fields, by position.
    fn push_set_words(&mut self, fields: impl ExactSizeIterator<Item = usize>) -> Option<()> {
        self.push(fields.len())?;
        fields.into_iter().try_for_each(|field| self.push(field))
    }

    /// A filter tree; `None` for what is not kept (see the module docs) and
    /// for a constant below the root: simplifying `x OR All`, `x AND
    /// Nothing` or `NOT All` drops leaves, and their values, so the values
    /// would no longer follow the text. Without constants, simplifying only
    /// flattens nested `AND`s and `OR`s, which keeps the leaves' order.
    pub(crate) fn push_filter(&mut self, node: &Node) -> Option<()> {
        match node {
            Node::All => self.push(ALL),
            _ => self.push_node(node),
        }
    }

    fn push_node(&mut self, node: &Node) -> Option<()> {
        match node {
            Node::All | Node::Nothing | Node::Exists(_) => None,
            Node::Leaf(cond) => {
                if !cond.path.is_empty() {
                    return None;
                }
                let values = match cond.op {
                    Op::Range(..) => 2,
                    Op::IsNull(_) => 0,
                    _ => 1,
                };
                self.push_leaf(cond.field, op_word(&cond.op)?, values)
            }
            Node::And(items) | Node::Or(items) => {
                self.push(if matches!(node, Node::And(_)) {
                    AND
                } else {
                    OR
                })?;
                self.push(items.len())?;
                items.iter().try_for_each(|item| self.push_node(item))
            }
            Node::Not(inner) => {
                self.push(NOT)?;
                self.push_node(inner)
            }
            Node::Call { node, same_row } => {
                self.push(if *same_row { CALL_SAME_ROW } else { CALL })?;
                self.push_node(node)
            }
        }
    }

    /// A leaf on the model's own `field` with lookup word `op`, binding
    /// `values` values.
    #[inline]
    fn push_leaf(&mut self, field: &'static FieldMeta, op: usize, values: usize) -> Option<()> {
        self.push_leaf_word(field.position, op, values)
    }

    /// [`push_leaf`](Shape::push_leaf) from the field's position.
    #[inline]
    fn push_leaf_word(&mut self, field: usize, op: usize, values: usize) -> Option<()> {
        self.push(LEAF)?;
        self.push(field)?;
        self.values += values;
        self.push(op)
    }

    fn key(&self) -> &[usize] {
        &self.words
    }

    /// The text rendered for this shape before, if any.
    pub(crate) fn text(&self) -> Option<&'static str> {
        let texts = TEXTS.read().unwrap_or_else(|e| e.into_inner());
        texts.get(self.key()).copied()
    }

    /// The kept text of `get(field = value)` on a plain query set (no
    /// other filter, ordering, slice or `DISTINCT`), `limit` being
    /// `get()`'s ([`Shape::by_key_text`]).
    #[inline]
    #[allow(clippy::result_large_err, reason = "`Err` hands the shape back")]
    pub(crate) fn get_text(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        limit: Option<i64>,
    ) -> Result<&'static str, Option<Shape>> {
        Shape::by_key_text(ByKey::new(Kind::Select, meta, field, limit, &[]))
    }

    /// The kept text of `update(sets)` on a query set filtered by one
    /// `field = value` and nothing else; `None` when `sets` are not plain
    /// values of the model's own fields, or more than [`KEY_SETS`].
    #[inline]
    #[allow(clippy::result_large_err, reason = "`Err` hands the shape back")]
    pub(crate) fn update_text(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        sets: &[Set],
    ) -> Option<Result<&'static str, Option<Shape>>> {
        if sets.len() > KEY_SETS || sets.is_empty() || !plain_sets(sets) {
            return None;
        }
        Some(Shape::by_key_text(ByKey::new(
            Kind::Update,
            meta,
            field,
            None,
            sets,
        )))
    }

    /// The kept text of `delete()` on a query set filtered by one `field =
    /// value` and nothing else.
    #[inline]
    #[allow(clippy::result_large_err, reason = "`Err` hands the shape back")]
    pub(crate) fn delete_text(
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
    ) -> Result<&'static str, Option<Shape>> {
        Shape::by_key_text(ByKey::new(Kind::Delete, meta, field, None, &[]))
    }

    /// The kept text of a statement by one `field = value`, looked up
    /// first in this thread's cache of them ([`BY_KEY_TEXTS`]), else by
    /// building its shape; on a miss, the shape (to keep the text under),
    /// if it is one.
    #[inline(always)]
    #[allow(clippy::result_large_err, reason = "`Err` hands the shape back")]
    fn by_key_text(key: ByKey) -> Result<&'static str, Option<Shape>> {
        // No destructor (the slots are `Copy`), so `with` cannot fail.
        let hit = BY_KEY_TEXTS.with(|slots| match slots[key.slot()].get() {
            Some((cached, sql)) if cached == key => Some(sql),
            _ => None,
        });
        match hit {
            Some(sql) => {
                #[cfg(test)]
                CACHED_KEY_TEXTS.set(CACHED_KEY_TEXTS.get() + 1);
                Ok(sql)
            }
            None => by_key_text_missed(key),
        }
    }

    /// Keeps `sql` as this shape's text (up to [`MAX_SHAPES`] shapes).
    pub(crate) fn remember(&self, sql: &str) {
        // Full for good: say so without queueing for the write lock.
        if TEXTS.read().unwrap_or_else(|e| e.into_inner()).len() >= MAX_SHAPES {
            return;
        }
        let mut texts = TEXTS.write().unwrap_or_else(|e| e.into_inner());
        if texts.len() < MAX_SHAPES && !texts.contains_key(self.key()) {
            texts.insert(self.key().into(), Box::leak(sql.into()));
        }
    }
}

/// [`Shape::by_key_text`] when `key`'s slot does not hold it: the text
/// from [`TEXTS`] (then held in the slot), else the shape. Out of line, so
/// the inlined hit stays small.
#[cold]
#[inline(never)]
#[allow(clippy::result_large_err, reason = "`Err` hands the shape back")]
fn by_key_text_missed(key: ByKey) -> Result<&'static str, Option<Shape>> {
    let shape = key.shape();
    match shape.as_ref().and_then(Shape::text) {
        Some(sql) => {
            BY_KEY_TEXTS.with(|slots| slots[key.slot()].set(Some((key, sql))));
            Ok(sql)
        }
        None => Err(shape),
    }
}

/// The most assigned fields an `UPDATE` by key takes its text from
/// [`BY_KEY_TEXTS`] with; more are looked up by their full shape.
const KEY_SETS: usize = 2;

/// What decides the text of a statement by one `field = value` on a plain
/// query set: its kind, the model's address and the field's position (as
/// for shapes), a get's `LIMIT` and an update's assigned fields. Its shape
/// ([`ByKey::shape`]) has the words the full path builds for that query,
/// so the two can only share a text with that query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByKey {
    kind: Kind,
    meta: usize,
    field: usize,
    limit: Option<i64>,
    /// The assigned fields' positions plus one, then zeros.
    set_fields: [usize; KEY_SETS],
}

impl ByKey {
    #[inline]
    fn new(
        kind: Kind,
        meta: &'static ModelMeta,
        field: &'static FieldMeta,
        limit: Option<i64>,
        sets: &[Set],
    ) -> ByKey {
        debug_assert!(sets.len() <= KEY_SETS);
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

    /// The words `QuerySet::shape` builds for this statement.
    fn shape(&self) -> Option<Shape> {
        let mut shape = Shape::of_words(self.kind, self.meta);
        match self.kind {
            Kind::Select => {
                shape.push_select(self.limit, None, false)?;
                shape.push(0)?; // no ordering
            }
            Kind::Update | Kind::Delete => {}
            Kind::Count | Kind::Exists => return None,
        }
        shape.push_leaf_word(self.field, EXACT, 1)?;
        if self.kind == Kind::Update {
            let sets = self
                .set_fields
                .iter()
                .take_while(|&&field| field != 0)
                .count();
            shape.push_set_words(self.set_fields[..sets].iter().map(|word| word - 1))?;
        }
        Some(shape)
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
    /// Kept texts of statements by key ([`Shape::by_key_text`]: a get, an
    /// update or a delete by one `field = value`), one per slot, per
    /// thread: repeated on a thread, such a statement finds its text
    /// without building a filter tree or a shape, hashing it or taking
    /// [`TEXTS`]' lock. Texts are never removed from [`TEXTS`], so a
    /// cached one stays right.
    static BY_KEY_TEXTS: [Cell<Option<(ByKey, &'static str)>>; KEY_SLOTS] =
        const { [const { Cell::new(None) }; KEY_SLOTS] };
}

#[cfg(test)]
thread_local! {
    /// Texts found in [`BY_KEY_TEXTS`] on this thread (unit tests).
    pub(crate) static CACHED_KEY_TEXTS: Cell<usize> = const { Cell::new(0) };
}

/// Whether an `UPDATE`'s assignments are plain values of the model's own
/// fields, the only ones kept (an error, such as a field across a relation,
/// is reported by rendering).
fn plain_sets(sets: &[Set]) -> bool {
    sets.iter()
        .all(|set| set.expr.is_none() && set.index != ACROSS_RELATION)
}

/// [`op_word`] of `Exact`.
const EXACT: usize = 1;

/// One word per lookup, as [`push_cond`](crate::sql::condition) renders it.
fn op_word(op: &Op) -> Option<usize> {
    Some(match op {
        Op::Exact(_) => EXACT,
        Op::IExact(_) => 2,
        Op::Like { at, ci, .. } => {
            let at = match at {
                Like::Contains => 0,
                Like::StartsWith => 1,
                Like::EndsWith => 2,
            };
            3 + at * 2 + usize::from(*ci)
        }
        Op::In(_) => 9,
        Op::Cmp(cmp, _) => match cmp {
            Cmp::Gt => 10,
            Cmp::Gte => 11,
            Cmp::Lt => 12,
            Cmp::Lte => 13,
        },
        Op::Range(..) => 14,
        Op::IsNull(is_null) => 15 + usize::from(*is_null),
        Op::Regex { ci, .. } => 17 + usize::from(*ci),
        Op::CmpExpr { .. } | Op::InQuery(_) | Op::Linked { .. } => return None,
    })
}

/// Moves the values of a kept filter's leaves into `out`, in the order
/// rendering binds them.
pub(crate) fn take_binds(node: Node, out: &mut Binds) {
    match node {
        Node::All | Node::Nothing | Node::Exists(_) => {}
        Node::Leaf(cond) => match cond.op {
            Op::Exact(v) | Op::IExact(v) | Op::Cmp(_, v) => out.push(v),
            Op::Like { at, text, .. } => out.push(Value::Text(Some(like_pattern(at, &text)))),
            Op::In(values) => out.push(Value::Array(values)),
            Op::Range(low, high) => {
                out.push(low);
                out.push(high);
            }
            Op::Regex { pattern, .. } => out.push(Value::Text(Some(pattern))),
            Op::IsNull(_) | Op::CmpExpr { .. } | Op::InQuery(_) | Op::Linked { .. } => {}
        },
        Node::And(items) | Node::Or(items) => {
            for item in items {
                take_binds(item, out);
            }
        }
        Node::Not(inner) | Node::Call { node: inner, .. } => take_binds(*inner, out),
    }
}
