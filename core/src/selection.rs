//! Top-10 selection: which of the caller's opportunities fill the ten slots the policy sees.
//!
//! Opportunities whose inputs fail [`Opportunity::validate`] are skipped. The rest are ranked by
//! [`Opportunity::score`], highest first; equal scores keep the caller's order (lower index first).
//! Ranking runs over any [`Candidate`] (a host's own records, say), and only candidates whose score
//! would place them among the ten are validated.

use crate::OPPORTUNITY_SLOTS;
use crate::error::Error;
use crate::opportunity::Opportunity;

/// The ten opportunity slots the policy sees. Every filled slot holds an opportunity that passed
/// [`Opportunity::validate`]: the constructors check, so the observation and the mask need not.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slots<'a>([Option<&'a Opportunity>; OPPORTUNITY_SLOTS]);

impl<'a> Slots<'a> {
    /// Slots holding exactly these opportunities; the first invalid one is an error.
    pub fn new(slots: [Option<&'a Opportunity>; OPPORTUNITY_SLOTS]) -> Result<Self, Error> {
        slots.iter().flatten().try_for_each(|o| o.validate())?;
        Ok(Slots(slots))
    }

    /// Slots holding these opportunities, with every invalid one left out (its slot empty).
    pub fn valid_only(slots: [Option<&'a Opportunity>; OPPORTUNITY_SLOTS]) -> Self {
        Slots(slots.map(|o| o.filter(|o| o.validate().is_ok())))
    }

    /// The slots of `selection` over the list it was picked from, without validating again.
    pub(crate) fn picked(selection: &Selection, opportunities: &'a [Opportunity]) -> Self {
        Slots(core::array::from_fn(|slot| selection.input_index(slot).map(|i| &opportunities[i])))
    }

    /// The opportunity in `slot`, if filled.
    pub fn get(&self, slot: usize) -> Option<&'a Opportunity> {
        self.0.get(slot).copied().flatten()
    }

    /// All ten slots in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a Opportunity>> + '_ {
        self.0.iter().copied()
    }
}

/// What selection ranks: an opportunity, or a host's record of one.
pub trait Candidate {
    /// The ranking score, [`Opportunity::score`] of the opportunity (any value when it is invalid).
    fn score(&self) -> f64;
    /// Whether the opportunity passes [`Opportunity::validate`].
    fn is_valid(&self) -> bool;
}

impl Candidate for Opportunity {
    #[inline]
    fn score(&self) -> f64 {
        Opportunity::score(self)
    }

    #[inline]
    fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }
}

/// The chosen opportunities, as indices into the caller's list, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Selection {
    indices: [usize; OPPORTUNITY_SLOTS],
    len: usize,
}

impl Selection {
    /// Pick the (up to) ten best valid opportunities.
    pub fn top(opportunities: &[Opportunity]) -> Self {
        Self::rank(opportunities)
    }

    /// Pick the (up to) ten best valid opportunities, with their slots.
    pub fn pick(opportunities: &[Opportunity]) -> (Self, Slots<'_>) {
        let sel = Self::rank(opportunities);
        // Every chosen index was validated.
        (sel, Slots::picked(&sel, opportunities))
    }

    /// Pick the (up to) ten best valid candidates.
    pub fn rank<C: Candidate>(candidates: &[C]) -> Self {
        let mut scores = [0.0f64; OPPORTUNITY_SLOTS];
        let mut sel = Selection::default();
        for (i, c) in candidates.iter().enumerate() {
            let score = c.score();
            // Later inputs lose ties, so a new entry goes after every equal score (and a NaN score,
            // which no valid opportunity has, after all).
            let at = scores[..sel.len].iter().position(|&s| score > s).unwrap_or(sel.len);
            if at >= OPPORTUNITY_SLOTS || !c.is_valid() {
                continue;
            }
            let end = (sel.len + 1).min(OPPORTUNITY_SLOTS);
            scores.copy_within(at..end - 1, at + 1);
            sel.indices.copy_within(at..end - 1, at + 1);
            scores[at] = score;
            sel.indices[at] = i;
            sel.len = end;
        }
        sel
    }

    /// The chosen indices into the caller's list, slot 0 first.
    pub fn indices(&self) -> &[usize] {
        &self.indices[..self.len]
    }

    /// The caller's index of the opportunity in `slot`, if the slot is filled.
    pub fn input_index(&self, slot: usize) -> Option<usize> {
        self.indices().get(slot).copied()
    }

    /// The ten slots over `opportunities` (the list the selection was made from; were it another,
    /// its invalid entries would still be left out).
    pub fn slots<'a>(&self, opportunities: &'a [Opportunity]) -> Slots<'a> {
        Slots::valid_only(core::array::from_fn(|slot| {
            self.input_index(slot).and_then(|i| opportunities.get(i))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::tests::btc;
    use std::vec::Vec;

    fn with_avg(profit: f64) -> Opportunity {
        Opportunity { profit_8h_24h_avg: profit, ..btc() }
    }

    #[test]
    fn ranks_by_score_and_breaks_ties_by_input_order() {
        let mut opps: Vec<Opportunity> =
            [0.0001, 0.0005, 0.0003, 0.0005, -0.0002].iter().map(|&p| with_avg(p)).collect();
        opps[2].long.price = f64::NAN; // invalid: skipped
        let s = Selection::top(&opps);
        assert_eq!(s.indices(), &[1, 3, 0, 4]);
        assert_eq!(s.input_index(1), Some(3));
        assert_eq!(s.input_index(4), None);
        assert_eq!(Selection::pick(&opps), (s, s.slots(&opps)));
        let slots = s.slots(&opps);
        assert!(core::ptr::eq(slots.get(0).unwrap(), &opps[1]));
        assert!(slots.get(4).is_none());
        // Built from another list, its invalid entries are left out.
        let mut other = opps.clone();
        other[3].short.interval_hours = f64::INFINITY;
        assert!(s.slots(&other).get(1).is_none());
        assert!(Slots::new([Some(&other[3]); OPPORTUNITY_SLOTS]).is_err());
        assert_eq!(Slots::new([Some(&opps[0]); OPPORTUNITY_SLOTS]).unwrap().iter().flatten().count(), 10);
    }

    #[test]
    fn keeps_only_the_best_ten_of_many() {
        let opps: Vec<Opportunity> = (0..100).map(|i| with_avg(f64::from((i * 37) % 100) * 1e-5)).collect();
        let s = Selection::top(&opps);
        assert_eq!(s.indices().len(), 10);
        let mut expected: Vec<usize> = (0..100).collect();
        expected.sort_by(|&a, &b| opps[b].score().total_cmp(&opps[a].score()).then(a.cmp(&b)));
        assert_eq!(s.indices(), &expected[..10]);
    }

    proptest::proptest! {
        /// Validating only the candidates that would enter the ten picks what validating all of
        /// them first and sorting would: the best ten valid ones, ties in input order.
        #[test]
        fn picks_as_filtering_then_sorting_would(
            entries in proptest::collection::vec((0u8..6, 0u8..4, proptest::bool::ANY), 0..40)
        ) {
            let opps: Vec<Opportunity> = entries
                .iter()
                .map(|&(profit, quality, valid)| {
                    let mut o = with_avg(f64::from(profit) * 1e-4);
                    o.volume_24h_usd = if quality & 1 == 0 { 1e8 } else { 1e5 };
                    o.bid_ask_spread_pct = if quality & 2 == 0 { 0.01 } else { 0.5 };
                    if !valid {
                        o.short.price = -1.0;
                    }
                    o
                })
                .collect();
            let mut expected: Vec<usize> = (0..opps.len()).filter(|&i| opps[i].validate().is_ok()).collect();
            expected.sort_by(|&a, &b| opps[b].score().total_cmp(&opps[a].score()).then(a.cmp(&b)));
            expected.truncate(OPPORTUNITY_SLOTS);
            let picked = Selection::top(&opps);
            proptest::prop_assert_eq!(picked.indices(), &expected[..]);
        }
    }

    #[test]
    fn quality_halves_the_score() {
        let mut thin = with_avg(0.0005);
        thin.volume_24h_usd = 10.0;
        let opps = [thin, with_avg(0.0003)];
        assert_eq!(Selection::top(&opps).indices(), &[1, 0]); // 0.0005 / 2 < 0.0003
        assert!(Selection::top(&[]).indices().is_empty());
    }
}
