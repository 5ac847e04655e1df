//! The four demo datasets. Each is an iterator of rows with a fixed schema.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Weekday};
use rand::{Rng, RngExt};
use shuyu_quality::FormatKind;

use crate::city::{AVERAGE_WAGE_YUAN, SyntheticCity};
use crate::entity_rng::EntityRng;
use crate::schema::{ColumnSpec, ColumnType, Dataset, DatasetSchema, Row, Sensitivity, Value};
use crate::tables::{self, DIAGNOSES, HOSPITALS, LANDMARKS, ROADS, STOP_SUFFIXES, pick};

const CONTRIBUTION: u64 = 10;
const STOP: u64 = 11;

const fn column(
    name: &'static str,
    column_type: ColumnType,
    description: &'static str,
    sensitivity: Sensitivity,
    format: FormatKind,
) -> ColumnSpec {
    ColumnSpec {
        name,
        column_type,
        description,
        sensitivity,
        format,
    }
}

use ColumnType::{Boolean, Date, Money, Text, Timestamp};
use Sensitivity::{
    DirectIdentifier, NotPersonal, PersonalInformation, QuasiIdentifier,
    SensitivePersonalInformation,
};

// ---------------------------------------------------------------------------------------------------

/// The enterprise registry of the market regulation bureau: one row per enterprise of the city, in
/// index order (finite: `enterprises` rows).
#[derive(Debug, Clone)]
pub struct EnterpriseRegistry {
    city: SyntheticCity,
    next: u64,
}

impl EnterpriseRegistry {
    pub const SCHEMA: DatasetSchema = DatasetSchema {
        name: "enterprise_registry",
        title: "企业登记信息",
        department: "市场监督管理局",
        columns: &[
            column(
                "credit_code",
                Text,
                "统一社会信用代码",
                DirectIdentifier,
                FormatKind::CreditCode,
            ),
            column(
                "enterprise_name",
                Text,
                "企业名称",
                DirectIdentifier,
                FormatKind::None,
            ),
            column(
                "enterprise_type",
                Text,
                "市场主体类型",
                NotPersonal,
                FormatKind::None,
            ),
            column(
                "legal_representative",
                Text,
                "法定代表人（经营者）姓名",
                DirectIdentifier,
                FormatKind::None,
            ),
            column(
                "registered_capital",
                Money,
                "注册资本（元）",
                NotPersonal,
                FormatKind::None,
            ),
            column(
                "established",
                Date,
                "成立日期",
                NotPersonal,
                FormatKind::Date,
            ),
            column(
                "industry_code",
                Text,
                "行业门类代码（GB/T 4754-2017）",
                NotPersonal,
                FormatKind::None,
            ),
            column("industry", Text, "行业门类", NotPersonal, FormatKind::None),
            column(
                "district",
                Text,
                "登记机关所在区县",
                NotPersonal,
                FormatKind::None,
            ),
            column(
                "status",
                Text,
                "登记状态（存续、注销、吊销）",
                NotPersonal,
                FormatKind::None,
            ),
        ],
        privacy_unit: "credit_code",
    };

    pub fn new(city: &SyntheticCity) -> Self {
        Self {
            city: city.clone(),
            next: 0,
        }
    }
}

impl Iterator for EnterpriseRegistry {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.next >= self.city.config().enterprises {
            return None;
        }
        let e = self.city.enterprise(self.next);
        self.next += 1;
        Some(vec![
            Value::Text(e.credit_code),
            Value::Text(e.name),
            Value::Text(e.enterprise_type.to_owned()),
            Value::Text(e.legal_representative),
            Value::Money(e.registered_capital_fen),
            Value::Date(e.established),
            Value::Text(e.industry_code.to_owned()),
            Value::Text(e.industry_name.to_owned()),
            Value::Text(self.city.district_name(e.district).to_owned()),
            Value::Text(e.status.label().to_owned()),
        ])
    }
}

impl Dataset for EnterpriseRegistry {
    fn schema(&self) -> &'static DatasetSchema {
        &Self::SCHEMA
    }
}

// ---------------------------------------------------------------------------------------------------

/// A social insurance type with its contribution rates in basis points of the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsuranceRate {
    pub insurance_type: &'static str,
    pub employer_bp: i64,
    pub personal_bp: i64,
}

/// The contribution rates the generator applies (typical national rates; maternity insurance merged
/// into medical insurance).
pub const INSURANCE_RATES: [InsuranceRate; 4] = [
    InsuranceRate {
        insurance_type: "基本养老保险",
        employer_bp: 1_600,
        personal_bp: 800,
    },
    InsuranceRate {
        insurance_type: "基本医疗保险",
        employer_bp: 800,
        personal_bp: 200,
    },
    InsuranceRate {
        insurance_type: "失业保险",
        employer_bp: 50,
        personal_bp: 50,
    },
    InsuranceRate {
        insurance_type: "工伤保险",
        employer_bp: 40,
        personal_bp: 0,
    },
];

/// Social-insurance contributions of the human resources bureau: for each employed person aged 16 to
/// 65, one row per insurance type and month from the month they started (January for most) to
/// December of the reference year; after the last person the next year follows (endless).
#[derive(Debug, Clone)]
pub struct SocialInsurance {
    city: SyntheticCity,
    year: i32,
    person: u64,
    pending: std::vec::IntoIter<Row>,
}

impl SocialInsurance {
    pub const SCHEMA: DatasetSchema = DatasetSchema {
        name: "social_insurance_contributions",
        title: "社会保险缴费明细",
        department: "人力资源和社会保障局",
        columns: &[
            column(
                "resident_id",
                Text,
                "参保人公民身份号码",
                DirectIdentifier,
                FormatKind::ResidentId,
            ),
            column(
                "name",
                Text,
                "参保人姓名",
                DirectIdentifier,
                FormatKind::None,
            ),
            column(
                "insurance_type",
                Text,
                "险种",
                NotPersonal,
                FormatKind::None,
            ),
            column(
                "contribution_month",
                Text,
                "费款所属期（YYYY-MM）",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column(
                "contribution_base",
                Money,
                "缴费基数（元）",
                PersonalInformation,
                FormatKind::None,
            ),
            column(
                "personal_amount",
                Money,
                "个人缴费金额（元）",
                PersonalInformation,
                FormatKind::None,
            ),
            column(
                "employer_amount",
                Money,
                "单位缴费金额（元）",
                PersonalInformation,
                FormatKind::None,
            ),
            column(
                "employer_credit_code",
                Text,
                "参保单位统一社会信用代码",
                QuasiIdentifier,
                FormatKind::CreditCode,
            ),
        ],
        privacy_unit: "resident_id",
    };

    pub fn new(city: &SyntheticCity) -> Self {
        Self {
            city: city.clone(),
            year: city.config().year,
            person: 0,
            pending: Vec::new().into_iter(),
        }
    }

    /// The rows of the next contributor.
    fn refill(&mut self) {
        let config = self.city.config();
        // At most `population` people are looked at; a city without contributors yields nothing.
        for _ in 0..config.population {
            let index = self.person;
            self.person += 1;
            if self.person >= config.population {
                self.person = 0;
                self.year += 1;
            }
            let person = self.city.person(index);
            let Some(employer) = person.employer else {
                continue;
            };
            let mid_year = NaiveDate::from_ymd_opt(self.year, 7, 1);
            if !mid_year.is_some_and(|d| (16..=65).contains(&person.age_on(d))) {
                continue;
            }
            let mut rng = EntityRng::new(
                self.city.seed(),
                CONTRIBUTION,
                index.wrapping_mul(4_096) ^ self.year as u64,
            );
            let first_month = if rng.random_bool(0.75) {
                1
            } else {
                rng.random_range(2..=12)
            };
            let years_on = i64::from(self.year - config.year);
            let growth = |fen: i64| (fen as f64 * 1.05f64.powi(years_on as i32)).round() as i64;
            let average = growth(AVERAGE_WAGE_YUAN * 100);
            let base = growth(person.monthly_wage_fen).clamp(average * 6 / 10, average * 3);
            let base = base / 100 * 100; // whole yuan
            let code = self.city.enterprise(employer).credit_code;
            let mut rows = Vec::with_capacity(48);
            for month in first_month..=12 {
                for rate in INSURANCE_RATES {
                    rows.push(vec![
                        Value::Text(person.resident_id.clone()),
                        Value::Text(person.name.clone()),
                        Value::Text(rate.insurance_type.to_owned()),
                        Value::Text(format!("{}-{month:02}", self.year)),
                        Value::Money(base),
                        Value::Money(share(base, rate.personal_bp)),
                        Value::Money(share(base, rate.employer_bp)),
                        Value::Text(code.clone()),
                    ]);
                }
            }
            self.pending = rows.into_iter();
            return;
        }
    }
}

/// `base × bp / 10 000`, rounded half up to the fen.
pub(crate) fn share(base_fen: i64, bp: i64) -> i64 {
    (base_fen * bp + 5_000) / 10_000
}

impl Iterator for SocialInsurance {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if let Some(row) = self.pending.next() {
            return Some(row);
        }
        self.refill();
        self.pending.next()
    }
}

impl Dataset for SocialInsurance {
    fn schema(&self) -> &'static DatasetSchema {
        &Self::SCHEMA
    }
}

// ---------------------------------------------------------------------------------------------------

/// Outpatient visits reported to the health commission (endless): older people visit more often,
/// weekends less; the diagnosis fits the patient's age and sets the department and typical cost.
#[derive(Debug, Clone)]
pub struct ClinicVisits<R> {
    city: SyntheticCity,
    rng: R,
    serial: u64,
}

impl<R: Rng> ClinicVisits<R> {
    pub const SCHEMA: DatasetSchema = DatasetSchema {
        name: "clinic_visits",
        title: "门诊就诊记录",
        department: "卫生健康委员会",
        columns: &[
            column(
                "visit_id",
                Text,
                "就诊流水号",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column(
                "resident_id",
                Text,
                "患者公民身份号码",
                DirectIdentifier,
                FormatKind::ResidentId,
            ),
            column(
                "visit_date",
                Date,
                "就诊日期",
                QuasiIdentifier,
                FormatKind::Date,
            ),
            column(
                "hospital",
                Text,
                "医疗机构名称",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column(
                "department",
                Text,
                "就诊科室",
                SensitivePersonalInformation,
                FormatKind::None,
            ),
            column(
                "diagnosis_code",
                Text,
                "主要诊断编码（ICD-10）",
                SensitivePersonalInformation,
                FormatKind::None,
            ),
            column(
                "diagnosis",
                Text,
                "主要诊断名称",
                SensitivePersonalInformation,
                FormatKind::None,
            ),
            column(
                "cost",
                Money,
                "医疗费用总额（元）",
                PersonalInformation,
                FormatKind::None,
            ),
            column(
                "insurance_paid",
                Money,
                "医保统筹支付（元）",
                PersonalInformation,
                FormatKind::None,
            ),
        ],
        privacy_unit: "resident_id",
    };

    pub fn new(city: &SyntheticCity, rng: R) -> Self {
        Self {
            city: city.clone(),
            rng,
            serial: 0,
        }
    }
}

impl<R: Rng> Iterator for ClinicVisits<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let config = self.city.config();
        let year = config.year;
        let first_day = NaiveDate::from_ymd_opt(year, 1, 1)?;
        let rng = &mut self.rng;
        let date = loop {
            let date = first_day + TimeDelta::days(rng.random_range(0..365));
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            if !weekend || rng.random_bool(0.6) {
                break date;
            }
        };
        let person = loop {
            let person = self.city.person(rng.random_range(0..config.population));
            let age = person.age_on(date).max(0);
            if rng.random_bool((0.35 + f64::from(age) / 100.0).min(1.0)) {
                break person;
            }
        };
        let age = u32::try_from(person.age_on(date).max(0)).unwrap_or(0);
        let fitting: Vec<_> = DIAGNOSES
            .iter()
            .filter(|d| (d.4..=d.5).contains(&age))
            .collect();
        let &(code, name, department, typical, _, _) = fitting
            .get(rng.random_range(0..fitting.len().max(1)))
            .copied()
            .or(DIAGNOSES.first())?;
        let hospital = if matches!(department, "儿科" | "妇产科") && rng.random_bool(0.5) {
            format!("{}妇幼保健院", config.name)
        } else if rng.random_bool(0.3) {
            format!("{}人民医院", self.city.district_name(person.district))
        } else {
            format!("{}{}", config.name, pick(rng, HOSPITALS))
        };
        let cost_yuan = f64::from(typical) * (0.5 * tables::normal(rng)).exp();
        let cost = ((cost_yuan * 100.0).round() as i64).max(2_000);
        let insured = rng.random_bool(0.95);
        let paid = if insured {
            cost * rng.random_range(50..=75) / 100
        } else {
            0
        };
        self.serial += 1;
        Some(vec![
            Value::Text(format!("MZ{}{:08}", date.format("%Y%m%d"), self.serial)),
            Value::Text(person.resident_id),
            Value::Date(date),
            Value::Text(hospital),
            Value::Text(department.to_owned()),
            Value::Text(code.to_owned()),
            Value::Text(name.to_owned()),
            Value::Money(cost),
            Value::Money(paid),
        ])
    }
}

impl<R: Rng> Dataset for ClinicVisits<R> {
    fn schema(&self) -> &'static DatasetSchema {
        &Self::SCHEMA
    }
}

// ---------------------------------------------------------------------------------------------------

/// Number of bus lines and stops per line.
const LINES: u64 = 36;
const STOPS_PER_LINE: u64 = 18;
/// Relative boardings per hour of the day, 05:00 to 22:00 (morning and evening peaks).
const HOURLY: [u32; 18] = [2, 6, 14, 16, 9, 7, 7, 8, 7, 6, 7, 9, 14, 15, 9, 6, 4, 2];

/// Bus boardings of the transport bureau (endless): six in ten residents hold a card; fares are 2 yuan,
/// 1 yuan for students, free for the elderly, 1 yuan off on a transfer.
#[derive(Debug, Clone)]
pub struct BusRidership<R> {
    city: SyntheticCity,
    rng: R,
}

impl<R: Rng> BusRidership<R> {
    pub const SCHEMA: DatasetSchema = DatasetSchema {
        name: "bus_ridership",
        title: "公交刷卡记录",
        department: "交通运输局",
        columns: &[
            column(
                "card_id",
                Text,
                "公交卡号（假名化）",
                DirectIdentifier,
                FormatKind::None,
            ),
            column(
                "card_type",
                Text,
                "卡类型",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column("line", Text, "线路", QuasiIdentifier, FormatKind::None),
            column(
                "boarding_stop",
                Text,
                "上车站点",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column(
                "boarding_time",
                Timestamp,
                "刷卡时间",
                QuasiIdentifier,
                FormatKind::None,
            ),
            column(
                "fare",
                Money,
                "实付票价（元）",
                PersonalInformation,
                FormatKind::None,
            ),
            column(
                "transfer",
                Boolean,
                "是否换乘优惠",
                PersonalInformation,
                FormatKind::None,
            ),
        ],
        privacy_unit: "card_id",
    };

    pub fn new(city: &SyntheticCity, rng: R) -> Self {
        Self {
            city: city.clone(),
            rng,
        }
    }

    /// The name of stop `stop` of line `line` (fixed for the city).
    fn stop_name(&self, line: u64, stop: u64) -> String {
        let mut rng = EntityRng::new(self.city.seed(), STOP, line * 1_000 + stop);
        if rng.random_bool(0.6) {
            format!("{}{}", pick(&mut rng, ROADS), pick(&mut rng, STOP_SUFFIXES))
        } else {
            pick(&mut rng, LANDMARKS).to_owned()
        }
    }
}

impl<R: Rng> Iterator for BusRidership<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let config = self.city.config();
        let holders = (config.population * 6 / 10).max(1);
        let first_day = NaiveDate::from_ymd_opt(config.year, 1, 1)?;
        let rng = &mut self.rng;
        let holder = rng.random_range(0..holders);
        let line = rng.random_range(1..=LINES);
        let stop = rng.random_range(0..STOPS_PER_LINE);
        let day = first_day + TimeDelta::days(rng.random_range(0..365));
        let hour = 5 + tables::weighted_index(rng, &HOURLY) as u32;
        let time: NaiveDateTime =
            day.and_hms_opt(hour, rng.random_range(0..60), rng.random_range(0..60))?;
        let transfer = rng.random_bool(0.15);
        let card_type = self.city.card_type(holder);
        let fare = match card_type {
            "学生卡" => 100,
            "老年卡" => 0,
            _ => 200,
        };
        let fare = if transfer { (fare - 100).max(0) } else { fare };
        let stop_name = self.stop_name(line, stop);
        Some(vec![
            Value::Text(self.city.card_id(holder)),
            Value::Text(card_type.to_owned()),
            Value::Text(format!("{line}路")),
            Value::Text(stop_name),
            Value::Timestamp(time),
            Value::Money(fare),
            Value::Boolean(transfer),
        ])
    }
}

impl<R: Rng> Dataset for BusRidership<R> {
    fn schema(&self) -> &'static DatasetSchema {
        &Self::SCHEMA
    }
}
