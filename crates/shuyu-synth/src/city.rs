//! A synthetic city: its districts, people and enterprises. A person or enterprise is a pure function
//! of the city seed and its index, so every dataset of the city refers to the same people and codes.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, TimeDelta};
use rand::{Rng, RngExt};
use shuyu_core::CreditCode;
use shuyu_quality::resident_id_check;

use crate::SynthError;
use crate::entity_rng::{EntityRng, mix};
use crate::tables::{self, BRANDS, INDUSTRIES, SHOPS, normal, pick, weighted_index};

const PERSON: u64 = 1;
const ENTERPRISE: u64 = 2;
const CARD: u64 = 3;
/// People are born in the 85 years before the reference year.
const BIRTH_YEARS: i32 = 85;
/// The average monthly wage of the reference year, in yuan (sets contribution bases).
pub(crate) const AVERAGE_WAGE_YUAN: i64 = 6_500;

/// One district: its two-digit code (the last two digits of its six-digit region code) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    pub code: String,
    pub name: String,
}

/// The size and shape of a synthetic city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityConfig {
    /// The city's name, as in the names of its departments and hospitals (ends in 市).
    pub name: String,
    /// The first four digits of the region codes (province and city), like `6405`.
    pub region_prefix: String,
    pub districts: Vec<District>,
    /// People in the population register (resident ID numbers are unique up to about 500 × districts ×
    /// 31 000 people).
    pub population: u64,
    /// Enterprises in the registry.
    pub enterprises: u64,
    /// The reference year: contributions, visits and rides are in this year; people are born before it.
    pub year: i32,
}

impl CityConfig {
    /// The demo city: 示范市 with four districts, 20 000 people and 2 000 enterprises in 2025.
    pub fn demo() -> Self {
        let district = |code: &str, name: &str| District {
            code: code.to_owned(),
            name: name.to_owned(),
        };
        Self {
            name: "示范市".to_owned(),
            region_prefix: "6405".to_owned(),
            districts: vec![
                district("02", "城中区"),
                district("21", "北川县"),
                district("22", "南塬县"),
                district("23", "河口县"),
            ],
            population: 20_000,
            enterprises: 2_000,
            year: 2025,
        }
    }

    /// The city's name without 市, as enterprise names use it.
    fn short_name(&self) -> &str {
        self.name.strip_suffix('市').unwrap_or(&self.name)
    }
}

/// Male or female (the parity of a resident ID's 17th digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// One person of the population register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub index: u64,
    /// A valid-format resident ID number (GB 11643-1999) in one of the city's districts.
    pub resident_id: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// Index into the city's districts.
    pub district: usize,
    /// Index of the employing enterprise (always one that is 存续), if employed.
    pub employer: Option<u64>,
    /// Monthly wage in the reference year, in fen.
    pub monthly_wage_fen: i64,
}

impl Person {
    /// Age in whole years on `date`.
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth_date.year();
        if (date.month(), date.day()) < (self.birth_date.month(), self.birth_date.day()) {
            age -= 1;
        }
        age
    }
}

/// Registration status of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnterpriseStatus {
    /// 存续: operating.
    Active,
    /// 注销: deregistered.
    Deregistered,
    /// 吊销: licence revoked.
    Revoked,
}

impl EnterpriseStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "存续",
            Self::Deregistered => "注销",
            Self::Revoked => "吊销",
        }
    }
}

/// One enterprise of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    pub index: u64,
    /// A valid unified social credit code (registration authority 9, type 1/2/3, the district's region
    /// code, a GB 11714 organisation code with its own check character, and the check character).
    pub credit_code: String,
    pub name: String,
    /// 有限责任公司, 股份有限公司, 个体工商户 or 农民专业合作社.
    pub enterprise_type: &'static str,
    pub legal_representative: String,
    pub registered_capital_fen: i64,
    pub established: NaiveDate,
    /// GB/T 4754-2017 section letter and name.
    pub industry_code: &'static str,
    pub industry_name: &'static str,
    pub district: usize,
    pub status: EnterpriseStatus,
}

/// A synthetic city: the configuration plus a seed drawn from the RNG it was made with.
#[derive(Debug, Clone)]
pub struct SyntheticCity {
    config: Arc<CityConfig>,
    seed: u64,
    /// The first possible birth date and the number of possible birth dates.
    birth_start: NaiveDate,
    birth_days: u64,
}

impl SyntheticCity {
    /// Checks the configuration and draws the city seed from `rng`.
    pub fn new<R: Rng + ?Sized>(config: CityConfig, rng: &mut R) -> Result<Self, SynthError> {
        let prefix = config.region_prefix.as_bytes();
        let province = prefix
            .get(..2)
            .and_then(|p| std::str::from_utf8(p).ok())
            .unwrap_or("");
        if prefix.len() != 4
            || !prefix.iter().all(u8::is_ascii_digit)
            || !shuyu_quality::resident_id_valid(&test_id(province))
        {
            return Err(SynthError::RegionPrefix(config.region_prefix.clone()));
        }
        if config.districts.is_empty() {
            return Err(SynthError::NoDistricts);
        }
        if let Some(bad) = config
            .districts
            .iter()
            .find(|d| d.code.len() != 2 || !d.code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SynthError::DistrictCode(bad.code.clone()));
        }
        if config.population == 0 || config.enterprises == 0 {
            return Err(SynthError::EmptyCity);
        }
        if !(1990..=2090).contains(&config.year) {
            return Err(SynthError::Year(config.year));
        }
        let first = NaiveDate::from_ymd_opt(config.year - BIRTH_YEARS, 1, 1);
        let last = NaiveDate::from_ymd_opt(config.year, 1, 1);
        let (Some(birth_start), Some(last)) = (first, last) else {
            return Err(SynthError::Year(config.year));
        };
        let birth_days = u64::try_from((last - birth_start).num_days()).unwrap_or(1);
        Ok(Self {
            config: Arc::new(config),
            seed: rng.random(),
            birth_start,
            birth_days,
        })
    }

    pub fn config(&self) -> &CityConfig {
        &self.config
    }

    /// The person with this index (any index; the register has `population` of them).
    pub fn person(&self, index: u64) -> Person {
        let districts = self.config.districts.len() as u64;
        let slots = districts * self.birth_days;
        // Birth date and district are a bijection of `index mod slots`, and the sequence number counts
        // the laps, so two people never share a resident ID number.
        let slot = permute(index % slots, slots, self.seed);
        let lap = index / slots;
        let district = (slot % districts) as usize;
        let birth_date = self.birth_start + TimeDelta::days((slot / districts) as i64);
        let mut rng = EntityRng::new(self.seed, PERSON, index);
        let sex = if rng.random_bool(0.51) {
            Sex::Male
        } else {
            Sex::Female
        };
        let sequence = 2 * (lap % 498 + 1) + u64::from(sex == Sex::Male);
        let first17 = format!(
            "{}{}{}{sequence:03}",
            self.config.region_prefix,
            self.district_code(district),
            birth_date.format("%Y%m%d"),
        );
        let check = resident_id_check(&first17).unwrap_or('0');
        let name = tables::chinese_name(&mut rng, sex == Sex::Male);
        let wage_yuan = (AVERAGE_WAGE_YUAN as f64).ln() + 0.45 * normal(&mut rng);
        let monthly_wage_fen = (wage_yuan.exp().round() as i64).max(1_000) * 100;
        let employer = rng
            .random_bool(0.8)
            .then(|| self.active_enterprise(rng.random_range(0..self.config.enterprises)));
        Person {
            index,
            resident_id: format!("{first17}{check}"),
            name,
            sex,
            birth_date,
            district,
            employer,
            monthly_wage_fen,
        }
    }

    /// The enterprise with this index (below `enterprises`).
    pub fn enterprise(&self, index: u64) -> Enterprise {
        let mut rng = EntityRng::new(self.seed, ENTERPRISE, index);
        let status = status(&mut rng);
        let kind = weighted_index(&mut rng, &[70, 3, 22, 5]);
        let district = rng.random_range(0..self.config.districts.len());
        let year = self.config.year - 1 - (30.0 * rng.random::<f64>().powi(2)) as i32;
        let established = NaiveDate::from_ymd_opt(year, 1, 1)
            .map(|d| d + TimeDelta::days(rng.random_range(0..365)))
            .unwrap_or(self.birth_start);
        let city = self.config.short_name();
        let brand = format!(
            "{}{}",
            pick(&mut rng, BRANDS).chars().next().unwrap_or('华'),
            pick(&mut rng, BRANDS).chars().nth(1).unwrap_or('泰'),
        );
        let region = if rng.random_bool(0.7) { city } else { "" };
        let section = weighted_index(
            &mut rng,
            &INDUSTRIES.iter().map(|i| i.2).collect::<Vec<_>>(),
        );
        let (mut industry_code, mut industry_name, _, words) = INDUSTRIES
            .get(section)
            .copied()
            .unwrap_or(("F", "批发和零售业", 1, &["商贸"]));
        let (enterprise_type, type_digit, name, capital_wan) = match kind {
            0 | 1 => {
                let form = if kind == 1 {
                    "股份有限公司"
                } else if rng.random_bool(0.8) {
                    "有限公司"
                } else {
                    "有限责任公司"
                };
                let name = format!("{region}{brand}{}{form}", pick(&mut rng, words));
                let wan = (100f64.ln() + 1.2 * normal(&mut rng)).exp();
                let kind_name = if kind == 1 {
                    "股份有限公司"
                } else {
                    "有限责任公司"
                };
                (kind_name, '1', name, wan.clamp(1.0, 100_000.0))
            }
            2 => {
                let (code, shop) = SHOPS
                    .get(rng.random_range(0..SHOPS.len()))
                    .copied()
                    .unwrap_or(("F", "便利店"));
                if let Some(found) = INDUSTRIES.iter().find(|i| i.0 == code) {
                    (industry_code, industry_name) = (found.0, found.1);
                }
                let district_name = self.district_name(district);
                let name = format!("{district_name}{brand}{shop}");
                ("个体工商户", '2', name, rng.random_range(1.0..30.0))
            }
            _ => {
                (industry_code, industry_name) = ("A", "农、林、牧、渔业");
                let what = if rng.random_bool(0.5) {
                    "种植"
                } else {
                    "养殖"
                };
                let name = format!("{city}{brand}{what}专业合作社");
                ("农民专业合作社", '3', name, rng.random_range(5.0..200.0))
            }
        };
        let male = rng.random_bool(0.7);
        let legal_representative = tables::chinese_name(&mut rng, male);
        let organisation = organisation_code(index, established, self.seed);
        let first17 = format!(
            "9{type_digit}{}{}{organisation}",
            self.config.region_prefix,
            self.district_code(district)
        );
        Enterprise {
            index,
            credit_code: CreditCode::complete(&first17)
                .map(String::from)
                .unwrap_or_default(),
            name,
            enterprise_type,
            legal_representative,
            registered_capital_fen: nice(capital_wan) * 10_000 * 100,
            established,
            industry_code,
            industry_name,
            district,
            status,
        }
    }

    /// The pseudonymous transport card number of a card holder (unique per holder).
    pub fn card_id(&self, holder: u64) -> String {
        format!("C{:016X}", mix(self.seed ^ CARD ^ mix(holder)))
    }

    /// The card type of a holder: 普通卡, 学生卡 or 老年卡.
    pub fn card_type(&self, holder: u64) -> &'static str {
        match mix(self.seed.wrapping_add(holder).wrapping_mul(CARD)) % 100 {
            0..75 => "普通卡",
            75..90 => "学生卡",
            _ => "老年卡",
        }
    }

    pub(crate) fn district_name(&self, district: usize) -> &str {
        self.config
            .districts
            .get(district)
            .map_or("", |d| d.name.as_str())
    }

    pub(crate) fn district_code(&self, district: usize) -> &str {
        self.config
            .districts
            .get(district)
            .map_or("01", |d| d.code.as_str())
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The first enterprise from `start` on that is 存续 (or `start` if none is).
    fn active_enterprise(&self, start: u64) -> u64 {
        let n = self.config.enterprises;
        (0..n.min(1_000))
            .map(|step| (start + step) % n)
            .find(|i| {
                status(&mut EntityRng::new(self.seed, ENTERPRISE, *i)) == EnterpriseStatus::Active
            })
            .unwrap_or(start)
    }
}

/// The status is the first draw of an enterprise, so it can be read without the rest.
fn status(rng: &mut EntityRng) -> EnterpriseStatus {
    match rng.random_range(0..100) {
        0..85 => EnterpriseStatus::Active,
        85..95 => EnterpriseStatus::Deregistered,
        _ => EnterpriseStatus::Revoked,
    }
}

/// A resident ID in province `province` used only to check the province code.
fn test_id(province: &str) -> String {
    let first17 = format!("{province}010219900101001");
    format!("{first17}{}", resident_id_check(&first17).unwrap_or('0'))
}

/// A bijection of `0..n` (an affine map with a multiplier coprime to `n`).
fn permute(x: u64, n: u64, seed: u64) -> u64 {
    const MULTIPLIER: u128 = 2_147_483_647; // prime
    let n128 = u128::from(n.max(1));
    let a = if n128 % MULTIPLIER == 0 {
        1
    } else {
        MULTIPLIER
    };
    ((u128::from(x) * a + u128::from(seed) % n128) % n128) as u64
}

/// The 9-character organisation code (GB 11714-1997) of an enterprise: eight digits for enterprises
/// registered before the unified code (October 2015), `MA` and six code characters after, then the
/// GB 11714 check character. Both forms are bijections of the index, so codes never repeat.
fn organisation_code(index: u64, established: NaiveDate, seed: u64) -> String {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let unified = NaiveDate::from_ymd_opt(2015, 10, 1).is_some_and(|d| established >= d);
    let body: String = if unified {
        let mut x = permute(index, 31u64.pow(6), seed);
        let mut chars = [b'0'; 6];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET.get((x % 31) as usize).copied().unwrap_or(b'0');
            x /= 31;
        }
        format!("MA{}", String::from_utf8_lossy(&chars))
    } else {
        format!("{:08}", permute(index, 100_000_000, seed))
    };
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        v => char::from_digit(v, 10).unwrap_or('0'),
    };
    format!("{body}{check}")
}

/// `x` rounded to one significant digit (capital is registered in round sums), at least 1.
fn nice(x: f64) -> i64 {
    if x < 1.0 {
        return 1;
    }
    let magnitude = 10f64.powi(x.log10().floor() as i32);
    ((x / magnitude).round() * magnitude) as i64
}
