//! Top-10 selection: which of the caller's opportunities fill the ten slots the policy sees.
//!
//! Opportunities whose inputs fail [`Opportunity::validate`] are skipped. The rest are ranked by
//! [`Opportunity::score`], highest first; equal scores keep the caller's order (lower index first).
//! Only entries whose score would place them among the ten are validated: the ten best by score
//! alone first, and only when one of them is invalid, each entry that would enter as it comes.
//! [`Chosen`] ranks a host's own records the same way, converting only those.

use crate::OPPORTUNITY_SLOTS;
use crate::error::Error;
use crate::opportunity::Opportunity;
use core::convert::Infallible;

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

/// A host's record of an opportunity, ranked by [`Chosen::rank`] without converting every one.
pub trait Record {
    /// Why a record cannot be read at all.
    type Unreadable;
    /// Whether the record, the `index`th, can be read at all (an unreadable one ends the ranking:
    /// a host's malformed record is an error, an invalid opportunity is merely skipped). Checked
    /// in the ranking's one pass over the records.
    fn readable(&self, index: usize) -> Result<(), Self::Unreadable>;
    /// The ranking score, [`Opportunity::score`] of the opportunity (any value when it is invalid).
    fn score(&self) -> f64;
    /// The engine's opportunity, or `None` when the record cannot be converted. It need not be
    /// valid: [`Chosen::rank`] validates it.
    fn opportunity(&self) -> Option<Opportunity>;
}

/// The chosen opportunities, as indices into the caller's list, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Selection {
    indices: [usize; OPPORTUNITY_SLOTS],
    len: usize,
}

/// The ranking of [`Selection`], with where each admitted entry was stored: `places[slot]` is the
/// place of the entry in `slot`, a place an entry pushed out of the ten gives to the next admitted.
/// `readable` checks every entry first (its error ends the ranking); `admit` judges an entry that
/// would enter the ten and may store it at the place given.
///
/// The ten best by score alone are found first and admitted, slot by slot: when all ten are, they
/// are the ten best admitted entries (the usual case, as a list's best entries are valid), found
/// with ten admissions. Otherwise the entries are ranked again, each judged as it would enter.
fn rank_by<T, E>(
    entries: &[T],
    readable: impl Fn(usize, &T) -> Result<(), E>,
    score: impl Fn(&T) -> f64,
    mut admit: impl FnMut(&T, usize) -> bool,
) -> Result<(Selection, [u8; OPPORTUNITY_SLOTS]), E> {
    let mut best = Ranking::default();
    for (i, entry) in entries.iter().enumerate() {
        readable(i, entry)?;
        best.offer(i, score(entry), |_| true);
    }
    let (selection, places) = (best.selection, best.places);
    if selection.indices().iter().zip(places).all(|(&i, place)| admit(&entries[i], usize::from(place))) {
        return Ok((selection, places));
    }
    let mut admitted = Ranking::default();
    for (i, entry) in entries.iter().enumerate() {
        admitted.offer(i, score(entry), |place| admit(entry, place));
    }
    Ok((admitted.selection, admitted.places))
}

/// The ten best entries offered so far, with their scores and the places they were stored at.
struct Ranking {
    selection: Selection,
    scores: [f64; OPPORTUNITY_SLOTS],
    places: [u8; OPPORTUNITY_SLOTS],
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            selection: Selection::default(),
            scores: [0.0; OPPORTUNITY_SLOTS],
            places: core::array::from_fn(|k| k as u8),
        }
    }
}

impl Ranking {
    /// Offer the `i`th entry: if its score would place it among the ten and `admit` takes it (at the
    /// place it is given), it enters, pushing out the tenth.
    #[inline(always)]
    fn offer(&mut self, i: usize, score: f64, admit: impl FnOnce(usize) -> bool) {
        let len = self.selection.len;
        // Later inputs lose ties, so a new entry goes after every equal score (and a NaN score,
        // which no valid opportunity has, after all). Most entries of a long list fall below the
        // tenth: one comparison rejects them.
        if len == OPPORTUNITY_SLOTS && !(score > self.scores[OPPORTUNITY_SLOTS - 1]) {
            return;
        }
        let at = self.scores[..len].iter().position(|&s| score > s).unwrap_or(len);
        // Free while the ten are not full; else the place of the entry about to be pushed out.
        let end = (len + 1).min(OPPORTUNITY_SLOTS);
        let place = self.places[end - 1];
        if !admit(usize::from(place)) {
            return;
        }
        self.scores.copy_within(at..end - 1, at + 1);
        self.selection.indices.copy_within(at..end - 1, at + 1);
        self.places.copy_within(at..end - 1, at + 1);
        self.scores[at] = score;
        self.selection.indices[at] = i;
        self.places[at] = place;
        self.selection.len = end;
    }
}

impl Selection {
    /// Pick the (up to) ten best valid opportunities.
    pub fn top(opportunities: &[Opportunity]) -> Self {
        let readable = |_, _: &Opportunity| Ok::<_, Infallible>(());
        match rank_by(opportunities, readable, Opportunity::score, |o, _| o.validate().is_ok()) {
            Ok((selection, _)) => selection,
        }
    }

    /// Pick the (up to) ten best valid opportunities, with their slots.
    pub fn pick(opportunities: &[Opportunity]) -> (Self, Slots<'_>) {
        let sel = Self::top(opportunities);
        // Every chosen index was validated.
        (sel, Slots::picked(&sel, opportunities))
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

/// The ten best of a host's records, each admitted one converted and validated once: what a host
/// with its own opportunity records (a C caller's structs, say) decides over, without converting
/// the rest.
#[derive(Debug, Clone)]
pub struct Chosen {
    selection: Selection,
    places: [u8; OPPORTUNITY_SLOTS],
    store: [Option<Opportunity>; OPPORTUNITY_SLOTS],
}

impl Chosen {
    /// Rank the records as [`Selection::top`] ranks opportunities: by score, ties in input order,
    /// records that do not convert to a valid opportunity skipped. Only the records whose score
    /// would place them among the ten are converted; the first unreadable record is the error.
    pub fn rank<R: Record>(records: &[R]) -> Result<Self, R::Unreadable> {
        let mut store = [None; OPPORTUNITY_SLOTS];
        let readable = |i, r: &R| r.readable(i);
        let (selection, places) = rank_by(records, readable, R::score, |r, place| {
            // The place may still hold the tenth entry: only an admitted record takes it.
            let admitted = r.opportunity().filter(|o| o.validate().is_ok());
            admitted.map(|o| store[place] = Some(o)).is_some()
        })?;
        Ok(Chosen { selection, places, store })
    }

    /// Which of the records fill the slots.
    pub fn selection(&self) -> Selection {
        self.selection
    }

    /// The slots, holding the converted opportunities.
    pub fn slots(&self) -> Slots<'_> {
        Slots(core::array::from_fn(|slot| {
            (slot < self.selection.len).then(|| self.store[usize::from(self.places[slot])].as_ref()).flatten()
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

    /// A host's record: unreadable when its spread deviation is 9, converting when `.1`.
    struct Held(Opportunity, bool);

    impl Record for Held {
        type Unreadable = usize;
        fn readable(&self, index: usize) -> Result<(), usize> {
            if self.0.spread_std_pct == 9.0 { Err(index) } else { Ok(()) }
        }
        fn score(&self) -> f64 {
            self.0.score()
        }
        fn opportunity(&self) -> Option<Opportunity> {
            self.1.then_some(self.0)
        }
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

    /// A record counting its conversions.
    struct Counted<'c>(Opportunity, &'c core::cell::Cell<usize>);

    impl Record for Counted<'_> {
        type Unreadable = ();
        fn readable(&self, _: usize) -> Result<(), ()> {
            Ok(())
        }
        fn score(&self) -> f64 {
            self.0.score()
        }
        fn opportunity(&self) -> Option<Opportunity> {
            self.1.set(self.1.get() + 1);
            Some(self.0)
        }
    }

    #[test]
    fn a_list_whose_best_ten_are_valid_converts_only_those() {
        let conversions = core::cell::Cell::new(0);
        // Rising scores: every record would enter the ten as it comes.
        let mut records: Vec<Counted> =
            (0..100).map(|i| Counted(with_avg(f64::from(i) * 1e-5), &conversions)).collect();
        let chosen = Chosen::rank(&records).unwrap();
        assert_eq!(chosen.selection().indices(), (90..100).rev().collect::<Vec<_>>());
        assert_eq!(conversions.get(), 10);
        // The best one invalid: ranked again, judging each record as it would enter.
        records[99].0.long.price = 0.0;
        conversions.set(0);
        let chosen = Chosen::rank(&records).unwrap();
        assert_eq!(chosen.selection().indices(), (89..99).rev().collect::<Vec<_>>());
        assert_eq!(chosen.slots().get(0), Some(&records[98].0));
        assert!(conversions.get() > 10);
    }

    proptest::proptest! {
        /// Validating only the candidates that would enter the ten picks what validating all of
        /// them first and sorting would: the best ten valid ones, ties in input order.
        #[test]
        fn picks_as_filtering_then_sorting_would(
            entries in proptest::collection::vec((0u8..6, 0u8..4, proptest::bool::weighted(0.9)), 0..40)
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

        /// Ranking records converts and picks as ranking their opportunities does, a record that
        /// does not convert counting as invalid; the slots hold the converted opportunities.
        #[test]
        fn chosen_records_pick_as_their_opportunities_would(
            entries in proptest::collection::vec((0u8..6, 0u8..16), 0..40)
        ) {
            let held: Vec<Held> = entries
                .iter()
                .map(|&(profit, kind)| {
                    let mut o = with_avg(f64::from(profit) * 1e-4);
                    o.spread_std_pct = f64::from(profit);
                    if kind == 1 {
                        o.long.funding_rate = f64::NAN;
                    }
                    Held(o, kind != 2)
                })
                .collect();
            let as_opportunities: Vec<Opportunity> = held
                .iter()
                .map(|h| if h.1 { h.0 } else { Opportunity { short: h.0.long, ..h.0 } })
                .collect();
            let (expected, expected_slots) = Selection::pick(&as_opportunities);
            let chosen = Chosen::rank(&held).unwrap();
            proptest::prop_assert_eq!(chosen.selection(), expected);
            proptest::prop_assert_eq!(chosen.slots(), expected_slots);
        }

        /// The first unreadable record ends the ranking, wherever it would rank.
        #[test]
        fn an_unreadable_record_is_the_error(len in 1usize..40, at in 0usize..40, profit in 0u8..6) {
            let at = at % len;
            let mut held: Vec<Held> = (0..len).map(|i| Held(with_avg((i % 7) as f64 * 1e-4), true)).collect();
            held[at].0 = with_avg(f64::from(profit) * 1e-4);
            held[at].0.spread_std_pct = 9.0;
            proptest::prop_assert_eq!(Chosen::rank(&held).unwrap_err(), at);
            held[at].0.spread_std_pct = 0.1;
            proptest::prop_assert!(Chosen::rank(&held).is_ok());
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
