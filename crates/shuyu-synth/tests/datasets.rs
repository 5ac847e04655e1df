//! Behaviour of the synthetic datasets: valid identifiers, determinism, schema consistency and
//! plausible distributions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shuyu_quality::{FieldProfiler, credit_code_valid, resident_id_valid};
use shuyu_synth::{
    BusRidership, CityConfig, ClinicVisits, CsvEncoding, Dataset, EnterpriseRegistry,
    INSURANCE_RATES, RecordBatches, Row, SocialInsurance, SyntheticCity, Value, write_csv,
};

fn city(seed: u64) -> SyntheticCity {
    let config = CityConfig {
        population: 5_000,
        enterprises: 1_000,
        ..CityConfig::demo()
    };
    SyntheticCity::new(config, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

fn text(value: &Value) -> &str {
    match value {
        Value::Text(t) => t,
        other => panic!("not text: {other:?}"),
    }
}

fn money(value: &Value) -> i64 {
    match value {
        Value::Money(m) => *m,
        other => panic!("not money: {other:?}"),
    }
}

fn rows<D: Dataset>(dataset: D, n: usize) -> Vec<Row> {
    dataset.take(n).collect()
}

fn all_four(seed: u64, n: usize) -> Vec<Vec<Row>> {
    let c = city(seed);
    vec![
        rows(EnterpriseRegistry::new(&c), n),
        rows(SocialInsurance::new(&c), n),
        rows(
            ClinicVisits::new(&c, ChaCha8Rng::seed_from_u64(seed + 1)),
            n,
        ),
        rows(
            BusRidership::new(&c, ChaCha8Rng::seed_from_u64(seed + 2)),
            n,
        ),
    ]
}

#[test]
fn every_credit_code_in_the_registry_is_valid_and_unique() {
    let registry = rows(EnterpriseRegistry::new(&city(1)), usize::MAX);
    assert_eq!(
        registry.len(),
        1_000,
        "one row per enterprise, then the registry ends"
    );
    let mut seen = HashSet::new();
    for row in &registry {
        let code = text(&row[0]);
        assert!(credit_code_valid(code), "{code}");
        assert!(code.starts_with("9") && code[2..6].eq("6405"), "{code}");
        assert!(seen.insert(code.to_owned()), "duplicate {code}");
        assert!(["存续", "注销", "吊销"].contains(&text(&row[9])));
    }
}

#[test]
fn every_resident_id_is_valid_and_unique_across_the_population() {
    let c = city(2);
    let mut seen = HashSet::new();
    for i in 0..20_000 {
        let person = c.person(i);
        assert!(
            resident_id_valid(&person.resident_id),
            "{}",
            person.resident_id
        );
        assert!(person.resident_id.starts_with("6405"));
        assert_eq!(
            &person.resident_id[6..14],
            person.birth_date.format("%Y%m%d").to_string()
        );
        let sex_digit = person.resident_id.as_bytes()[16] - b'0';
        assert_eq!(sex_digit % 2 == 1, person.sex == shuyu_synth::Sex::Male);
        assert!(seen.insert(person.resident_id), "duplicate at {i}");
    }
}

#[test]
fn contributions_reference_registered_employers_and_valid_ids() {
    let c = city(3);
    let codes: HashSet<String> = EnterpriseRegistry::new(&c)
        .map(|row| text(&row[0]).to_owned())
        .collect();
    for row in SocialInsurance::new(&c).take(30_000) {
        assert!(resident_id_valid(text(&row[0])));
        assert!(
            codes.contains(text(&row[7])),
            "employer {} not registered",
            text(&row[7])
        );
    }
    for row in ClinicVisits::new(&c, ChaCha8Rng::seed_from_u64(9)).take(5_000) {
        assert!(resident_id_valid(text(&row[1])));
    }
}

#[test]
fn same_seed_gives_same_rows_and_another_seed_other_rows() {
    assert_eq!(all_four(7, 500), all_four(7, 500));
    let (a, b) = (all_four(7, 50), all_four(8, 50));
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y);
    }
}

#[test]
fn rows_match_their_schema_and_batches_carry_it() {
    let c = city(4);
    fn check<D: Dataset>(dataset: D, batch_of: D) {
        let schema = dataset.schema();
        assert!(
            schema.column(schema.privacy_unit).is_some(),
            "{}",
            schema.name
        );
        for row in dataset.take(300) {
            assert_eq!(row.len(), schema.columns.len(), "{}", schema.name);
            for (value, column) in row.iter().zip(schema.columns) {
                assert!(
                    column.column_type.admits(value),
                    "{}.{}: {value:?}",
                    schema.name,
                    column.name
                );
                assert_ne!(value, &Value::Null);
            }
        }
        let batches: Vec<_> = RecordBatches::new(batch_of, 250, 100)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        for batch in &batches {
            assert_eq!(batch.num_columns(), schema.columns.len());
            for (field, column) in batch.schema().fields().iter().zip(schema.columns) {
                assert_eq!(field.name(), column.name);
                assert_eq!(field.data_type(), &column.column_type.arrow_type());
                assert_eq!(field.metadata()["description"], column.description);
            }
        }
    }
    check(EnterpriseRegistry::new(&c), EnterpriseRegistry::new(&c));
    check(SocialInsurance::new(&c), SocialInsurance::new(&c));
    let rng = || ChaCha8Rng::seed_from_u64(5);
    check(ClinicVisits::new(&c, rng()), ClinicVisits::new(&c, rng()));
    check(BusRidership::new(&c, rng()), BusRidership::new(&c, rng()));
}

#[test]
fn quality_profiles_of_synthetic_batches_find_every_identifier_valid() {
    let c = city(5);
    fn profile<D: Dataset>(dataset: D) {
        let schema = dataset.schema();
        let mut profilers: Vec<_> = schema
            .columns
            .iter()
            .map(|c| FieldProfiler::new(c.format))
            .collect();
        for batch in RecordBatches::new(dataset, 5_000, 1_000) {
            let batch = batch.unwrap();
            for (profiler, column) in profilers.iter_mut().zip(batch.columns()) {
                profiler.update(column).unwrap();
            }
        }
        for (profiler, column) in profilers.into_iter().zip(schema.columns) {
            let p = profiler.finish();
            assert_eq!(p.nulls, 0);
            if column.format != shuyu_quality::FormatKind::None {
                assert_eq!(
                    p.validity_rate,
                    Some(1.0),
                    "{}.{}",
                    schema.name,
                    column.name
                );
            }
        }
    }
    profile(EnterpriseRegistry::new(&c));
    profile(SocialInsurance::new(&c));
    profile(ClinicVisits::new(&c, ChaCha8Rng::seed_from_u64(1)));
    profile(BusRidership::new(&c, ChaCha8Rng::seed_from_u64(1)));
}

#[test]
fn contributors_are_16_to_65_and_amounts_are_base_times_rate() {
    let c = city(6);
    let mut ages = Vec::new();
    for row in SocialInsurance::new(&c).take(40_000) {
        let id = text(&row[0]);
        let birth = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").unwrap();
        let month =
            NaiveDate::parse_from_str(&format!("{}-15", text(&row[3])), "%Y-%m-%d").unwrap();
        let age = month.years_since(birth).unwrap();
        assert!((15..=66).contains(&age), "age {age}");
        ages.push(age);
        let rate = INSURANCE_RATES
            .iter()
            .find(|r| r.insurance_type == text(&row[2]))
            .unwrap();
        let base = money(&row[4]);
        assert!((390_000..=1_950_000).contains(&base), "base {base}");
        assert_eq!(money(&row[5]), (base * rate.personal_bp + 5_000) / 10_000);
        assert_eq!(money(&row[6]), (base * rate.employer_bp + 5_000) / 10_000);
    }
    let mean = ages.iter().sum::<u32>() as f64 / ages.len() as f64;
    assert!((30.0..=50.0).contains(&mean), "mean age {mean}");
}

#[test]
fn visits_and_rides_are_plausible() {
    let c = city(7);
    let year = c.config().year;
    for row in ClinicVisits::new(&c, ChaCha8Rng::seed_from_u64(2)).take(5_000) {
        let (cost, paid) = (money(&row[7]), money(&row[8]));
        assert!(cost >= 2_000 && paid <= cost * 3 / 4);
        let Value::Date(date) = row[2] else { panic!() };
        assert_eq!(chrono::Datelike::year(&date), year);
        // Paediatric diagnoses only for children.
        if text(&row[4]) == "儿科" {
            let birth = NaiveDate::parse_from_str(&text(&row[1])[6..14], "%Y%m%d").unwrap();
            assert!(date.years_since(birth).unwrap() <= 14);
        }
    }
    let mut peak = 0;
    for row in BusRidership::new(&c, ChaCha8Rng::seed_from_u64(3)).take(5_000) {
        let fare = money(&row[5]);
        let Value::Boolean(transfer) = row[6] else {
            panic!()
        };
        assert!([0, 100, 200].contains(&fare));
        assert!(!transfer || fare <= 100);
        let Value::Timestamp(at) = row[4] else {
            panic!()
        };
        let hour = chrono::Timelike::hour(&at);
        assert!((5..=22).contains(&hour));
        peak += u32::from([7, 8, 17, 18].contains(&hour));
    }
    assert!(peak > 5_000 / 4, "peak hours carry the most rides: {peak}");
}

#[test]
fn csv_has_a_header_and_gb18030_decodes_to_the_same_text() {
    let c = city(8);
    let mut utf8 = Vec::new();
    let written = write_csv(
        SocialInsurance::new(&c),
        1_000,
        &mut utf8,
        CsvEncoding::Utf8,
    )
    .unwrap();
    assert_eq!(written, 1_000);
    let text = String::from_utf8(utf8).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "resident_id,name,insurance_type,contribution_month,contribution_base,personal_amount,employer_amount,employer_credit_code"
    );
    assert_eq!(lines.clone().count(), 1_000);
    assert!(lines.all(|l| l.split(',').count() == 8));

    let mut gb = Vec::new();
    write_csv(
        SocialInsurance::new(&c),
        1_000,
        &mut gb,
        CsvEncoding::Gb18030,
    )
    .unwrap();
    assert!(
        std::str::from_utf8(&gb).is_err(),
        "GB18030 bytes are not UTF-8"
    );
    let (decoded, _, errors) = encoding_rs::GB18030.decode(&gb);
    assert!(!errors);
    assert_eq!(decoded, text);
}

#[test]
fn a_bad_city_is_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let bad_prefix = CityConfig {
        region_prefix: "9905".into(),
        ..CityConfig::demo()
    };
    assert!(SyntheticCity::new(bad_prefix, &mut rng).is_err());
    let empty = CityConfig {
        population: 0,
        ..CityConfig::demo()
    };
    assert!(SyntheticCity::new(empty, &mut rng).is_err());
}
