//! The privacy budget accountant: pure state and events, like the catalog's state machines. A
//! [`BudgetLedger`] is rebuilt by [`BudgetLedger::apply`]ing its stored [`LedgerEvent`]s; a spend is
//! decided without mutating anything ([`spend`]) and the caller stores the events it returns.
//!
//! Two levels: a ledger per grant, and a [`PopulationLedger`] per data population per legal entity
//! across all its grants, so several grants (scenarios) of one entity cannot multiply the budget. A
//! spend must fit both.
//!
//! Composition is basic sequential composition: the spent ε and δ are the sums of the spends'. The
//! amounts are kept as integers ([`Amount`]: ε in 10⁻⁹, δ in 10⁻¹⁸), a cost rounded **up** and a
//! budget **down**, so the sums are exact and the sum of accepted spends never exceeds the budget.
//!
//! A repeated query fingerprint (the caller's digest of the normalized plan) returns the recorded
//! answer and spends nothing at either level, so asking again and averaging gains nothing.
//!
//! Must never: accept a spend that exceeds either level, or charge a repeat.

use std::collections::BTreeMap;

use shuyu_profile::PrivacyBudget;

use crate::DpError;

const EPSILON_UNITS: f64 = 1e9;
const DELTA_UNITS: f64 = 1e18;

/// Which ledger refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerLevel {
    /// The grant's own budget.
    Grant,
    /// The legal entity's budget over one data population, across all its grants.
    Population,
}

impl std::fmt::Display for LedgerLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LedgerLevel::Grant => "grant's",
            LedgerLevel::Population => "data population's (across the entity's grants)",
        })
    }
}

/// An exact privacy amount: ε in units of 10⁻⁹, δ in units of 10⁻¹⁸.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Amount {
    pub epsilon_nano: u64,
    pub delta_atto: u64,
}

impl Amount {
    /// What a cost charges: each part rounded up.
    pub fn charge(cost: PrivacyBudget) -> Result<Self, DpError> {
        Self::convert(cost, f64::ceil)
    }

    /// What a budget allows: each part rounded down.
    pub fn allowance(budget: PrivacyBudget) -> Result<Self, DpError> {
        Self::convert(budget, f64::floor)
    }

    fn convert(b: PrivacyBudget, round: fn(f64) -> f64) -> Result<Self, DpError> {
        if !b.is_well_formed() {
            return Err(DpError::invalid(
                "budget",
                "needs a finite ε > 0 and 0 ≤ δ < 1",
            ));
        }
        let eps = round(b.epsilon * EPSILON_UNITS);
        if eps >= u64::MAX as f64 {
            return Err(DpError::OutOfRange {
                name: "epsilon",
                max: "1.8·10¹⁰".into(),
            });
        }
        Ok(Self {
            epsilon_nano: eps as u64,
            delta_atto: round(b.delta * DELTA_UNITS) as u64,
        })
    }

    /// As floats, for reporting.
    pub fn as_budget(self) -> PrivacyBudget {
        PrivacyBudget::new(
            self.epsilon_nano as f64 / EPSILON_UNITS,
            self.delta_atto as f64 / DELTA_UNITS,
        )
    }

    fn checked_add(self, other: Self) -> Option<Self> {
        Some(Self {
            epsilon_nano: self.epsilon_nano.checked_add(other.epsilon_nano)?,
            delta_atto: self.delta_atto.checked_add(other.delta_atto)?,
        })
    }

    fn saturating_sub(self, other: Self) -> Self {
        Self {
            epsilon_nano: self.epsilon_nano.saturating_sub(other.epsilon_nano),
            delta_atto: self.delta_atto.saturating_sub(other.delta_atto),
        }
    }

    /// Whether both parts are within `limit`'s.
    pub fn within(self, limit: Self) -> bool {
        self.epsilon_nano <= limit.epsilon_nano && self.delta_atto <= limit.delta_atto
    }
}

/// The caller's opaque identity of a query (e.g. the hex SM3 digest of its normalized plan): 1 to
/// 128 visible ASCII characters.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    pub const MAX_LEN: usize = 128;

    pub fn new(s: impl Into<String>) -> Result<Self, DpError> {
        let s = s.into();
        let ok = (1..=Self::MAX_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(s))
        } else {
            Err(DpError::Fingerprint { max: Self::MAX_LEN })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = DpError;
    fn try_from(s: String) -> Result<Self, DpError> {
        Self::new(s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

/// The caller's reference to the stored noisy answer of a spend (e.g. the workspace result id or
/// its SM3 digest): what a repeat returns. Opaque here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnswerRef(pub String);

/// One recorded spend.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Spend {
    pub fingerprint: Fingerprint,
    pub cost: Amount,
    pub answer: AnswerRef,
}

/// What happened to a ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LedgerEvent {
    /// A query was charged and its answer recorded.
    Spent(Spend),
}

/// A ledger: a budget and the spends against it, by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetLedger {
    level: LedgerLevel,
    budget: Amount,
    spent: Amount,
    spends: BTreeMap<Fingerprint, Spend>,
}

impl BudgetLedger {
    /// An empty ledger of `level` with `budget` (rounded down).
    pub fn new(level: LedgerLevel, budget: PrivacyBudget) -> Result<Self, DpError> {
        Ok(Self {
            level,
            budget: Amount::allowance(budget)?,
            spent: Amount::default(),
            spends: BTreeMap::new(),
        })
    }

    /// A grant's ledger.
    pub fn for_grant(budget: PrivacyBudget) -> Result<Self, DpError> {
        Self::new(LedgerLevel::Grant, budget)
    }

    pub fn level(&self) -> LedgerLevel {
        self.level
    }

    pub fn budget(&self) -> Amount {
        self.budget
    }

    pub fn spent(&self) -> Amount {
        self.spent
    }

    pub fn remaining(&self) -> Amount {
        self.budget.saturating_sub(self.spent)
    }

    /// The recorded spend of a fingerprint, if it was asked before.
    pub fn recorded(&self, fingerprint: &Fingerprint) -> Option<&Spend> {
        self.spends.get(fingerprint)
    }

    /// Moves the state by a stored event. Events are facts: a spend already decided is applied.
    pub fn apply(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::Spent(spend) => {
                self.spent = self.spent.checked_add(spend.cost).unwrap_or(Amount {
                    epsilon_nano: u64::MAX,
                    delta_atto: u64::MAX,
                });
                self.spends.insert(spend.fingerprint.clone(), spend.clone());
            }
        }
    }

    /// Whether `cost` fits what remains, or the typed refusal naming remaining and asked.
    fn check_fits(&self, cost: Amount) -> Result<(), DpError> {
        let fits = self
            .spent
            .checked_add(cost)
            .is_some_and(|total| total.within(self.budget));
        if fits {
            Ok(())
        } else {
            Err(DpError::BudgetExceeded {
                level: self.level,
                asked: cost.as_budget(),
                remaining: self.remaining().as_budget(),
            })
        }
    }
}

/// Whose population ledger this is: a legal entity (unified social credit code) and a data
/// population (e.g. the privacy unit's register: `resident`, `enterprise`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PopulationKey {
    pub legal_entity: String,
    pub population: String,
}

/// The ledger of one data population for one legal entity, shared by all its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationLedger {
    key: PopulationKey,
    ledger: BudgetLedger,
}

impl PopulationLedger {
    pub fn new(key: PopulationKey, budget: PrivacyBudget) -> Result<Self, DpError> {
        Ok(Self {
            key,
            ledger: BudgetLedger::new(LedgerLevel::Population, budget)?,
        })
    }

    pub fn key(&self) -> &PopulationKey {
        &self.key
    }

    pub fn ledger(&self) -> &BudgetLedger {
        &self.ledger
    }

    pub fn apply(&mut self, event: &LedgerEvent) {
        self.ledger.apply(event);
    }
}

/// What a query would do, before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    /// Asked before (through this grant or another of the entity over the population): the
    /// recorded answer, free.
    Repeat(AnswerRef),
    /// It fits both levels; what would remain of each afterwards.
    Fits {
        grant_after: Amount,
        population_after: Amount,
    },
}

/// The decision on a spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendOutcome {
    /// A repeat: return the recorded answer, store nothing.
    Repeat(AnswerRef),
    /// Charged: store both events (each for its ledger) with the answer, in one transaction.
    Charged {
        grant: LedgerEvent,
        population: LedgerEvent,
    },
}

fn repeat(
    grant: &BudgetLedger,
    population: &PopulationLedger,
    fp: &Fingerprint,
) -> Option<AnswerRef> {
    grant
        .recorded(fp)
        .or_else(|| population.ledger.recorded(fp))
        .map(|s| s.answer.clone())
}

/// Previews a query of `cost`: a repeat, or that it fits both levels; refused with the level that
/// would be exceeded, naming remaining and asked.
pub fn preview(
    grant: &BudgetLedger,
    population: &PopulationLedger,
    fingerprint: &Fingerprint,
    cost: PrivacyBudget,
) -> Result<Preview, DpError> {
    if let Some(answer) = repeat(grant, population, fingerprint) {
        return Ok(Preview::Repeat(answer));
    }
    let amount = Amount::charge(cost)?;
    grant.check_fits(amount)?;
    population.ledger.check_fits(amount)?;
    Ok(Preview::Fits {
        grant_after: grant.remaining().saturating_sub(amount),
        population_after: population.ledger.remaining().saturating_sub(amount),
    })
}

/// Decides a spend of `cost` for `fingerprint` whose noisy answer is stored as `answer`: a repeat
/// returns the recorded answer and spends nothing; otherwise it must fit both the grant's and the
/// population's ledger. Nothing is mutated: apply the returned events.
pub fn spend(
    grant: &BudgetLedger,
    population: &PopulationLedger,
    fingerprint: &Fingerprint,
    cost: PrivacyBudget,
    answer: AnswerRef,
) -> Result<SpendOutcome, DpError> {
    if let Some(recorded) = repeat(grant, population, fingerprint) {
        return Ok(SpendOutcome::Repeat(recorded));
    }
    let amount = Amount::charge(cost)?;
    grant.check_fits(amount)?;
    population.ledger.check_fits(amount)?;
    let event = LedgerEvent::Spent(Spend {
        fingerprint: fingerprint.clone(),
        cost: amount,
        answer,
    });
    Ok(SpendOutcome::Charged {
        grant: event.clone(),
        population: event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fp(s: &str) -> Fingerprint {
        Fingerprint::new(s).unwrap()
    }

    fn ledgers(grant: f64, population: f64) -> (BudgetLedger, PopulationLedger) {
        let key = PopulationKey {
            legal_entity: "91370000MA3C5X1234".into(),
            population: "resident".into(),
        };
        (
            BudgetLedger::for_grant(PrivacyBudget::new(grant, 1e-6)).unwrap(),
            PopulationLedger::new(key, PrivacyBudget::new(population, 1e-6)).unwrap(),
        )
    }

    fn charge(
        g: &mut BudgetLedger,
        p: &mut PopulationLedger,
        f: &str,
        eps: f64,
    ) -> Result<SpendOutcome, DpError> {
        let out = spend(
            g,
            p,
            &fp(f),
            PrivacyBudget::new(eps, 0.0),
            AnswerRef(format!("ans-{f}")),
        )?;
        if let SpendOutcome::Charged { grant, population } = &out {
            g.apply(grant);
            p.apply(population);
        }
        Ok(out)
    }

    #[test]
    fn refuses_once_spent_naming_remaining_and_asked() {
        let (mut g, mut p) = ledgers(1.0, 10.0);
        charge(&mut g, &mut p, "q1", 0.6).unwrap();
        let err = charge(&mut g, &mut p, "q2", 0.5).unwrap_err();
        match &err {
            DpError::BudgetExceeded {
                level,
                asked,
                remaining,
            } => {
                assert_eq!(*level, LedgerLevel::Grant);
                assert!((asked.epsilon - 0.5).abs() < 1e-9);
                assert!((remaining.epsilon - 0.4).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        assert!(err.is_exhausted());
        assert!(err.to_string().contains("remaining ε = 0.4"), "{err}");
        // the refusal left the state as it was, and an exact fit is still accepted
        assert_eq!(
            g.spent(),
            Amount::charge(PrivacyBudget::new(0.6, 0.0)).unwrap()
        );
        charge(&mut g, &mut p, "q3", 0.4).unwrap();
        assert_eq!(g.remaining().epsilon_nano, 0);
    }

    #[test]
    fn a_repeat_returns_the_recorded_answer_and_spends_nothing() {
        let (mut g, mut p) = ledgers(1.0, 10.0);
        charge(&mut g, &mut p, "q1", 1.0).unwrap();
        let before = (g.clone(), p.clone());
        // even with the budget exhausted, a repeat is answered from the record
        let out = charge(&mut g, &mut p, "q1", 1.0).unwrap();
        assert_eq!(out, SpendOutcome::Repeat(AnswerRef("ans-q1".into())));
        assert_eq!((g, p), before);
    }

    #[test]
    fn the_population_level_bounds_an_entitys_grants_together() {
        let (mut g1, mut p) = ledgers(1.0, 1.5);
        let mut g2 = BudgetLedger::for_grant(PrivacyBudget::new(1.0, 1e-6)).unwrap();
        charge(&mut g1, &mut p, "a", 1.0).unwrap();
        charge(&mut g2, &mut p, "b", 0.5).unwrap();
        let err = charge(&mut g2, &mut p, "c", 0.1).unwrap_err();
        assert!(matches!(
            err,
            DpError::BudgetExceeded {
                level: LedgerLevel::Population,
                ..
            }
        ));
        // the grant's ledger was not charged by the refused spend
        assert_eq!(g2.spent().epsilon_nano, 500_000_000);
        // the same query through the other grant is a repeat, not a second spend
        let out = charge(&mut g2, &mut p, "a", 1.0).unwrap();
        assert_eq!(out, SpendOutcome::Repeat(AnswerRef("ans-a".into())));
    }

    #[test]
    fn preview_shows_what_would_remain_without_spending() {
        let (g, p) = ledgers(1.0, 3.0);
        let pv = preview(&g, &p, &fp("q"), PrivacyBudget::new(0.25, 0.0)).unwrap();
        assert_eq!(
            pv,
            Preview::Fits {
                grant_after: Amount {
                    epsilon_nano: 750_000_000,
                    delta_atto: 1_000_000_000_000
                },
                population_after: Amount {
                    epsilon_nano: 2_750_000_000,
                    delta_atto: 1_000_000_000_000
                },
            }
        );
        assert_eq!(g.spent(), Amount::default());
        let err = preview(&g, &p, &fp("q"), PrivacyBudget::new(1.5, 0.0)).unwrap_err();
        assert!(err.is_exhausted());
    }

    #[test]
    fn delta_is_accounted_too() {
        let (mut g, mut p) = ledgers(10.0, 10.0);
        let cost = PrivacyBudget::new(0.1, 6e-7);
        let ok = spend(&g, &p, &fp("x"), cost, AnswerRef("x".into())).unwrap();
        if let SpendOutcome::Charged { grant, population } = ok {
            g.apply(&grant);
            p.apply(&population);
        }
        let err = spend(&g, &p, &fp("y"), cost, AnswerRef("y".into())).unwrap_err();
        assert!(err.is_exhausted());
    }

    #[test]
    fn fingerprints_and_budgets_are_checked() {
        assert!(Fingerprint::new("").is_err());
        assert!(Fingerprint::new("a b").is_err());
        assert!(Fingerprint::new("x".repeat(129)).is_err());
        assert!(BudgetLedger::for_grant(PrivacyBudget::new(0.0, 0.0)).is_err());
        assert!(BudgetLedger::for_grant(PrivacyBudget::new(f64::INFINITY, 0.0)).is_err());
    }

    proptest! {
        #[test]
        fn accepted_spends_never_exceed_either_budget(
            grant_eps in 0.01f64..5.0,
            population_eps in 0.01f64..5.0,
            asks in proptest::collection::vec((0u8..12, 0.001f64..2.0), 1..60),
        ) {
            let (mut g, mut p) = ledgers(grant_eps, population_eps);
            let mut accepted = 0.0f64;
            let mut accepted_exact = 0u128;
            for (q, eps) in asks {
                match charge(&mut g, &mut p, &format!("q{q}"), eps) {
                    Ok(SpendOutcome::Charged { .. }) => {
                        accepted += eps;
                        accepted_exact += u128::from(Amount::charge(PrivacyBudget::new(eps, 0.0)).unwrap().epsilon_nano);
                    }
                    Ok(SpendOutcome::Repeat(_)) => {}
                    Err(e) => prop_assert!(e.is_exhausted()),
                }
            }
            prop_assert!(accepted_exact <= u128::from(g.budget().epsilon_nano));
            prop_assert!(accepted_exact <= u128::from(p.ledger().budget().epsilon_nano));
            prop_assert!(accepted <= grant_eps.min(population_eps) + 1e-12);
            prop_assert_eq!(u128::from(g.spent().epsilon_nano), accepted_exact);
        }
    }
}
