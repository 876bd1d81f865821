//! Integers and floats: extremes, infinities, NaN and negative zero, round trips and comparisons.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::types::AllTypes;

#[tokio::test]
async fn integer_extremes_round_trip_and_compare() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let rows = [
            (i16::MIN, i32::MIN, i64::MIN),
            (-1, -1, -1),
            (0, 0, 0),
            (1, 1, 1),
            (i16::MAX, i32::MAX, i64::MAX),
        ];
        for (small, int, big) in rows {
            let obj = AllTypes::create(AllTypes {
                small,
                int,
                big,
                ..Default::default()
            })
            .await?;
            let fetched = AllTypes::get(q!(id = obj.id)).await?;
            assert_eq!((fetched.small, fetched.int, fetched.big), (small, int, big));
        }
        let smalls = |v: Vec<AllTypes>| v.iter().map(|o| o.small).collect::<Vec<_>>();
        let q = AllTypes::all().order_by(["small"]);
        assert_eq!(
            smalls(q.clone().filter(q!(small = i16::MIN)).await?),
            [i16::MIN]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(int = i32::MAX)).await?),
            [i16::MAX]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(big = i64::MIN)).await?),
            [i16::MIN]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(big__gt = 0)).await?),
            [1, i16::MAX]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(int__lt = 0)).await?),
            [i16::MIN, -1]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(big__gte = i64::MAX)).await?),
            [i16::MAX]
        );
        assert_eq!(
            smalls(
                q.clone()
                    .filter(q!(small__in = [i16::MIN, 0, i16::MAX]))
                    .await?
            ),
            [i16::MIN, 0, i16::MAX]
        );
        assert_eq!(
            smalls(q.clone().filter(q!(int__range = (-1, 1))).await?),
            [-1, 0, 1]
        );
        assert_eq!(
            smalls(
                q.clone()
                    .filter(q!(big__range = (i64::MIN, i64::MAX)))
                    .await?
            ),
            [i16::MIN, -1, 0, 1, i16::MAX]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn float_special_values_round_trip() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let doubles = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            0.1,
            -0.0,
            1.0 / 3.0,
        ];
        let reals = [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            0.1,
            -0.0,
            1.0 / 3.0,
        ];
        for (double, real) in doubles.into_iter().zip(reals) {
            let obj = AllTypes::create(AllTypes {
                double,
                real,
                ..Default::default()
            })
            .await?;
            let fetched = AllTypes::get(q!(id = obj.id)).await?;
            // Bit patterns: also tells -0.0 from 0.0.
            assert_eq!(fetched.double.to_bits(), double.to_bits(), "{double}");
            assert_eq!(fetched.real.to_bits(), real.to_bits(), "{real}");
        }

        let nan = AllTypes::create(AllTypes {
            double: f64::NAN,
            real: f32::NAN,
            ..Default::default()
        })
        .await?;
        let fetched = AllTypes::get(q!(id = nan.id)).await?;
        assert!(fetched.double.is_nan(), "{}", fetched.double);
        assert!(fetched.real.is_nan(), "{}", fetched.real);

        // PostgreSQL orders NaN above every number, infinity included, and
        // (unlike Rust) NaN = NaN.
        assert_eq!(AllTypes::filter(q!(double = f64::NAN)).count().await?, 1);
        assert_eq!(
            AllTypes::filter(q!(double = f64::INFINITY)).count().await?,
            1
        );
        assert_eq!(
            AllTypes::filter(q!(real = f32::NEG_INFINITY))
                .count()
                .await?,
            1
        );
        assert_eq!(
            AllTypes::filter(q!(double__gt = f64::MAX)).count().await?,
            2
        );
        assert_eq!(AllTypes::filter(q!(real__gt = f32::MAX)).count().await?, 2);
        assert_eq!(
            AllTypes::filter(q!(double__in = [0.1, 1.0 / 3.0]))
                .count()
                .await?,
            2
        );
        // -0.0 = 0.0 in SQL.
        assert_eq!(AllTypes::filter(q!(double = 0.0)).count().await?, 1);
        Ok(())
    })
    .await
}
