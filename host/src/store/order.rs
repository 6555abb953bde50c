//! MongoDB's comparison order for BSON values: the order `$sort` uses across
//! types, and the type brackets that `$gt`/`$lt` compare within.
//!
//! Order: MinKey < null (and missing) < numbers < strings < objects < arrays
//! < binary < ObjectId < booleans < dates < timestamps < regexes < MaxKey.

use std::cmp::Ordering;

use mongodb::bson::Bson;

/// The rank of a value's type in the comparison order.
pub fn rank(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => 0,
        Bson::Null | Bson::Undefined => 1,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 2,
        Bson::String(_) | Bson::Symbol(_) => 3,
        Bson::Document(_) | Bson::JavaScriptCodeWithScope(_) => 4,
        Bson::Array(_) => 5,
        Bson::Binary(_) => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        Bson::Timestamp(_) => 10,
        Bson::RegularExpression(_) => 11,
        Bson::JavaScriptCode(_) | Bson::DbPointer(_) => 12,
        Bson::MaxKey => 13,
    }
}

/// A number as `f64`, for cross-type numeric comparison.
pub fn number(value: &Bson) -> Option<f64> {
    match value {
        Bson::Int32(n) => Some(f64::from(*n)),
        Bson::Int64(n) => Some(*n as f64),
        Bson::Double(n) => Some(*n),
        Bson::Decimal128(d) => d.to_string().parse().ok(),
        _ => None,
    }
}

/// Total order over BSON values, as MongoDB sorts them.
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    let by_rank = rank(a).cmp(&rank(b));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => x.cmp(y),
        (Bson::Document(x), Bson::Document(y)) => {
            for ((kx, vx), (ky, vy)) in x.iter().zip(y.iter()) {
                let order = compare(vx, vy).then_with(|| kx.cmp(ky));
                if order != Ordering::Equal {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Array(x), Bson::Array(y)) => {
            for (vx, vy) in x.iter().zip(y.iter()) {
                let order = compare(vx, vy);
                if order != Ordering::Equal {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.cmp(y),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => (x.time, x.increment).cmp(&(y.time, y.increment)),
        (Bson::Binary(x), Bson::Binary(y)) => x.bytes.len().cmp(&y.bytes.len()).then_with(|| x.bytes.cmp(&y.bytes)),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        },
    }
}

/// Equality as `$eq` sees it: numbers by value across int, long and double.
pub fn equal(a: &Bson, b: &Bson) -> bool {
    rank(a) == rank(b) && compare(a, b) == Ordering::Equal
}

/// A string that two values share exactly when [`equal`] holds between
/// them, for grouping: numbers by value (int 5, long 5 and double 5.0 are
/// one key, as in MongoDB's `$group`), everything else by its canonical
/// Extended JSON, documents and arrays member by member.
pub fn group_key(value: &Bson) -> String {
    let mut key = String::new();
    write_key(value, &mut key);
    key
}

fn write_key(value: &Bson, out: &mut String) {
    use std::fmt::Write;
    match value {
        Bson::Int32(n) => {
            let _ = write!(out, "n{n}");
        }
        Bson::Int64(n) => {
            let _ = write!(out, "n{n}");
        }
        // Integral doubles within i64's exact range key like the integer.
        Bson::Double(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
            let _ = write!(out, "n{}", *x as i64);
        }
        Bson::Double(x) if x.is_nan() => out.push_str("nan"),
        Bson::Double(x) => {
            let _ = write!(out, "d{x:?}");
        }
        Bson::Document(doc) => {
            out.push('{');
            for (name, member) in doc {
                let _ = write!(out, "{name:?}:");
                write_key(member, out);
                out.push(',');
            }
            out.push('}');
        }
        Bson::Array(items) => {
            out.push('[');
            for item in items {
                write_key(item, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.clone().into_canonical_extjson().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{DateTime, bson, oid::ObjectId};

    use super::*;

    #[test]
    fn types_sort_in_mongodb_order() {
        let mut values = [
            Bson::Boolean(false),
            Bson::DateTime(DateTime::from_millis(0)),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
            bson!([1]),
            bson!({ "a": 1 }),
            Bson::String("a".into()),
            Bson::Double(1.5),
            Bson::Null,
        ];
        values.sort_by(compare);
        let ranks: Vec<u8> = values.iter().map(rank).collect();
        assert_eq!(ranks, [1, 2, 3, 4, 5, 7, 8, 9]);
    }

    #[test]
    fn group_keys_match_equality() {
        let five = [Bson::Int32(5), Bson::Int64(5), Bson::Double(5.0)];
        for (a, b) in five.iter().zip(five.iter().skip(1)) {
            assert_eq!(group_key(a), group_key(b));
        }
        assert_ne!(group_key(&Bson::Int32(5)), group_key(&Bson::String("n5".into())));
        assert_ne!(group_key(&Bson::Double(5.5)), group_key(&Bson::Int32(5)));
        assert_eq!(group_key(&bson!({ "a": [1, 2.0] })), group_key(&bson!({ "a": [1_i64, 2] })));
    }

    #[test]
    fn numbers_compare_across_types() {
        assert!(equal(&Bson::Int32(3), &Bson::Double(3.0)));
        assert!(equal(&Bson::Int64(3), &Bson::Int32(3)));
        assert_eq!(compare(&Bson::Int32(2), &Bson::Double(2.5)), Ordering::Less);
        assert!(!equal(&Bson::Int32(1), &Bson::String("1".into())));
    }
}
