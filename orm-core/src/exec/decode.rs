//! Reading rows: a column as a [`Value`] of a field's [`SqlType`], a key
//! column as a [`Key`]. Models decode their own columns (the derive's
//! `from_row`); these serve the type-erased paths (cascades, prefetch
//! grouping, `values()`).

use uuid::Uuid;

use crate::types::SqlType;
use crate::value::{Key, Value};

impl Value {
    /// Reads column `index` of `row` as a value of `ty` (NULL included).
    pub(crate) fn read(
        row: &tokio_postgres::Row,
        index: usize,
        ty: SqlType,
    ) -> Result<Value, tokio_postgres::Error> {
        use SqlType as T;
        Ok(match ty {
            T::Bool => Value::Bool(row.try_get(index)?),
            T::SmallInt => Value::I16(row.try_get(index)?),
            T::Integer => Value::I32(row.try_get(index)?),
            T::BigInt => Value::I64(row.try_get(index)?),
            T::Real => Value::F32(row.try_get(index)?),
            T::Double => Value::F64(row.try_get(index)?),
            // A `tsvector` is selected as its text (`::text`).
            T::Text | T::Enum(_) | T::TsVector => Value::Text(row.try_get(index)?),
            T::Bytea => Value::Bytes(row.try_get(index)?),
            T::Date => Value::Date(row.try_get(index)?),
            T::Time => Value::Time(row.try_get(index)?),
            T::Timestamp => Value::Timestamp(row.try_get(index)?),
            T::TimestampTz => Value::TimestampTz(row.try_get(index)?),
            T::Uuid => Value::Uuid(row.try_get(index)?),
            T::Jsonb => Value::Json(row.try_get(index)?),
            T::Array(element) => read_array(row, index, *element)?,
            T::Range(kind) => read_range(row, index, kind)?,
            T::Numeric => Value::Decimal(row.try_get(index)?),
            T::Inet => Value::Inet(row.try_get(index)?),
            T::CiText => Value::Text(row.try_get(index)?),
            T::Interval => Value::Interval(row.try_get(index)?),
        })
    }
}

/// Reads an array column of elements of `element` as [`Value::Array`]
/// (each element with its own NULL); a NULL array as the element's NULL.
fn read_array(
    row: &tokio_postgres::Row,
    index: usize,
    element: SqlType,
) -> Result<Value, tokio_postgres::Error> {
    use SqlType as T;
    macro_rules! array {
        ($variant:ident) => {
            row.try_get::<_, Option<Vec<Option<_>>>>(index)?
                .map(|items| Value::Array(items.into_iter().map(Value::$variant).collect()))
        };
    }
    let array = match element {
        T::Bool => array!(Bool),
        T::SmallInt => array!(I16),
        T::Integer => array!(I32),
        T::BigInt => array!(I64),
        T::Real => array!(F32),
        T::Double => array!(F64),
        // Nested arrays are never asked for; a text array reports the
        // column's real type when it is not one.
        T::Text | T::Enum(_) | T::Array(_) | T::Range(_) | T::TsVector | T::CiText => array!(Text),
        T::Bytea => array!(Bytes),
        T::Date => array!(Date),
        T::Time => array!(Time),
        T::Timestamp => array!(Timestamp),
        T::TimestampTz => array!(TimestampTz),
        T::Uuid => array!(Uuid),
        T::Jsonb => array!(Json),
        T::Numeric => array!(Decimal),
        T::Inet => array!(Inet),
        T::Interval => array!(Interval),
    };
    Ok(array.unwrap_or_else(|| element.null()))
}

/// Reads a range column as [`Value::Range`] (its bounds values of the
/// element type); a NULL range as the range type's NULL.
fn read_range(
    row: &tokio_postgres::Row,
    index: usize,
    kind: crate::range::RangeKind,
) -> Result<Value, tokio_postgres::Error> {
    use crate::range::{Range, RangeKind as K};
    macro_rules! range {
        ($ty:ty, $variant:ident) => {
            row.try_get::<_, Option<Range<$ty>>>(index)?
                .map(|r| Box::new(r.map(|v| Value::$variant(Some(v)))))
        };
    }
    Ok(Value::Range(
        kind,
        match kind {
            K::Int4 => range!(i32, I32),
            K::Int8 => range!(i64, I64),
            K::Date => range!(chrono::NaiveDate, Date),
            K::Ts => range!(chrono::NaiveDateTime, Timestamp),
            K::TsTz => range!(chrono::DateTime<chrono::Utc>, TimestampTz),
            K::Num => range!(rust_decimal::Decimal, Decimal),
        },
    ))
}

impl Key {
    /// The key in column `index` of `row` (of type `ty`); `None` for NULL.
    pub(crate) fn read(
        row: &tokio_postgres::Row,
        index: usize,
        ty: SqlType,
    ) -> Result<Option<Key>, tokio_postgres::Error> {
        use SqlType as T;
        Ok(match ty {
            T::SmallInt => row
                .try_get::<_, Option<i16>>(index)?
                .map(|v| Key::Int(v.into())),
            T::Integer => row
                .try_get::<_, Option<i32>>(index)?
                .map(|v| Key::Int(v.into())),
            T::BigInt => row.try_get::<_, Option<i64>>(index)?.map(Key::Int),
            T::Uuid => row.try_get::<_, Option<Uuid>>(index)?.map(Key::Uuid),
            T::Text | T::Enum(_) | T::CiText => {
                row.try_get::<_, Option<String>>(index)?.map(Key::Text)
            }
            other => Key::of(&Value::read(row, index, other)?),
        })
    }
}
