//! The 36-action space: HOLD, ENTER one of ten opportunities at one of three sizes, EXIT one of five
//! positions.
//!
//! | index | action |
//! |---|---|
//! | 0 | `HOLD` |
//! | 1-10 | `ENTER_OPP_{0-9}_SMALL` (10 % of the allowed size) |
//! | 11-20 | `ENTER_OPP_{0-9}_MEDIUM` (20 %) |
//! | 21-30 | `ENTER_OPP_{0-9}_LARGE` (30 %) |
//! | 31-35 | `EXIT_POS_{0-4}` |

use crate::error::Error;
use crate::{MAX_POSITIONS, OPPORTUNITY_SLOTS};
use core::fmt;

/// Number of actions.
pub const ACTION_COUNT: usize = 36;
/// Version of the action space's layout; a model trained on another layout is refused.
pub const ACTION_VERSION: u32 = 1;

/// The name of every action, by index.
pub const NAMES: [&str; ACTION_COUNT] = [
    "HOLD",
    "ENTER_OPP_0_SMALL",
    "ENTER_OPP_1_SMALL",
    "ENTER_OPP_2_SMALL",
    "ENTER_OPP_3_SMALL",
    "ENTER_OPP_4_SMALL",
    "ENTER_OPP_5_SMALL",
    "ENTER_OPP_6_SMALL",
    "ENTER_OPP_7_SMALL",
    "ENTER_OPP_8_SMALL",
    "ENTER_OPP_9_SMALL",
    "ENTER_OPP_0_MEDIUM",
    "ENTER_OPP_1_MEDIUM",
    "ENTER_OPP_2_MEDIUM",
    "ENTER_OPP_3_MEDIUM",
    "ENTER_OPP_4_MEDIUM",
    "ENTER_OPP_5_MEDIUM",
    "ENTER_OPP_6_MEDIUM",
    "ENTER_OPP_7_MEDIUM",
    "ENTER_OPP_8_MEDIUM",
    "ENTER_OPP_9_MEDIUM",
    "ENTER_OPP_0_LARGE",
    "ENTER_OPP_1_LARGE",
    "ENTER_OPP_2_LARGE",
    "ENTER_OPP_3_LARGE",
    "ENTER_OPP_4_LARGE",
    "ENTER_OPP_5_LARGE",
    "ENTER_OPP_6_LARGE",
    "ENTER_OPP_7_LARGE",
    "ENTER_OPP_8_LARGE",
    "ENTER_OPP_9_LARGE",
    "EXIT_POS_0",
    "EXIT_POS_1",
    "EXIT_POS_2",
    "EXIT_POS_3",
    "EXIT_POS_4",
];

/// The size of an entry, as a fraction of the largest position a slot may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeTier {
    /// 10 % of the allowed size.
    Small,
    /// 20 % of the allowed size.
    Medium,
    /// 30 % of the allowed size.
    Large,
}

impl SizeTier {
    /// All tiers, smallest first.
    pub const ALL: [SizeTier; 3] = [SizeTier::Small, SizeTier::Medium, SizeTier::Large];

    /// The fraction of the allowed size: 0.10, 0.20 or 0.30.
    pub fn fraction(self) -> f64 {
        match self {
            SizeTier::Small => 0.10,
            SizeTier::Medium => 0.20,
            SizeTier::Large => 0.30,
        }
    }

    /// Its place in [`SizeTier::ALL`], 0-2.
    pub fn index(self) -> usize {
        match self {
            SizeTier::Small => 0,
            SizeTier::Medium => 1,
            SizeTier::Large => 2,
        }
    }
}

/// A slot of `N`: an index below `N`, checked once where it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot<const N: usize>(u8);

/// One of the ten opportunity slots the policy is shown, 0-9.
pub type OpportunitySlot = Slot<OPPORTUNITY_SLOTS>;
/// One of the five execution slots of the book, 0-4.
pub type PositionSlot = Slot<MAX_POSITIONS>;

impl<const N: usize> Slot<N> {
    /// Every slot, in order.
    pub const ALL: [Slot<N>; N] = {
        let mut all = [Slot(0); N];
        let mut i = 0;
        while i < N {
            all[i] = Slot(i as u8);
            i += 1;
        }
        all
    };

    /// Slot `index`, or `None` when it is not below `N`.
    pub const fn new(index: usize) -> Option<Self> {
        if index < N { Some(Slot(index as u8)) } else { None }
    }

    /// Its index, below `N`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One action of the 36-action space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Do nothing.
    Hold,
    /// Open a position on an opportunity slot at a size.
    Enter {
        /// The opportunity slot.
        slot: OpportunitySlot,
        /// The size tier.
        size: SizeTier,
    },
    /// Close the position in an execution slot.
    Exit {
        /// The execution slot.
        slot: PositionSlot,
    },
}

pub(crate) const ENTER_BASE: u8 = 1;
pub(crate) const EXIT_BASE: u8 = 31;

impl Action {
    /// Where the action counts in an action mix: 0 HOLD, 1 ENTER, 2 EXIT.
    pub fn kind(self) -> usize {
        match self {
            Action::Hold => 0,
            Action::Enter { .. } => 1,
            Action::Exit { .. } => 2,
        }
    }

    /// The action at `index` (0-35).
    pub fn from_index(index: usize) -> Result<Action, Error> {
        let i = match u8::try_from(index) {
            Ok(i) if index < ACTION_COUNT => i,
            _ => return Err(Error::UnknownAction { index }),
        };
        match i {
            0 => Ok(Action::Hold),
            1..=30 => {
                let k = i - ENTER_BASE;
                let size = SizeTier::ALL[usize::from(k) / OPPORTUNITY_SLOTS];
                Ok(Action::Enter { slot: Slot(k % OPPORTUNITY_SLOTS as u8), size })
            }
            _ => Ok(Action::Exit { slot: Slot(i - EXIT_BASE) }),
        }
    }

    /// This action's index, 0-35.
    pub fn index(self) -> usize {
        usize::from(match self {
            Action::Hold => 0,
            Action::Enter { slot, size } => {
                ENTER_BASE + size.index() as u8 * OPPORTUNITY_SLOTS as u8 + slot.0
            }
            Action::Exit { slot } => EXIT_BASE + slot.0,
        })
    }

    /// The action's name, e.g. `ENTER_OPP_3_MEDIUM`.
    pub fn name(self) -> &'static str {
        NAMES[self.index()]
    }

    /// The action with this exact name.
    pub fn from_name(name: &str) -> Result<Action, Error> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Action::from_index(i).expect("every name has an index"))
            .ok_or(Error::UnknownActionName)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which of the 36 actions are allowed, as a bit set (bit `i` = action `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ActionMask(u64);

impl ActionMask {
    /// No action allowed.
    pub const NONE: ActionMask = ActionMask(0);

    /// Only HOLD allowed.
    pub fn hold_only() -> Self {
        ActionMask(1)
    }

    /// Whether action `index` is allowed (false for indices out of range).
    pub fn allows(self, index: usize) -> bool {
        index < ACTION_COUNT && self.0 & (1 << index) != 0
    }

    /// Whether `action` is allowed.
    pub fn allows_action(self, action: Action) -> bool {
        self.allows(action.index())
    }

    /// Allow or forbid action `index` (ignored when out of range).
    pub fn set(&mut self, index: usize, allowed: bool) {
        if index < ACTION_COUNT {
            if allowed {
                self.0 |= 1 << index;
            } else {
                self.0 &= !(1 << index);
            }
        }
    }

    /// Number of allowed actions.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// The mask as 36 booleans.
    pub fn to_bools(self) -> [bool; ACTION_COUNT] {
        core::array::from_fn(|i| self.allows(i))
    }

    /// The mask from 36 booleans.
    pub fn from_bools(bools: &[bool; ACTION_COUNT]) -> Self {
        let mut m = ActionMask::NONE;
        for (i, &b) in bools.iter().enumerate() {
            m.set(i, b);
        }
        m
    }

    /// The raw bits (bit `i` = action `i`).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Indices of the allowed actions, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..ACTION_COUNT).filter(move |&i| self.allows(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_action_and_name_round_trip() {
        for (i, &name) in NAMES.iter().enumerate() {
            let a = Action::from_index(i).unwrap();
            assert_eq!(a.index(), i);
            let n = a.name();
            assert_eq!(n, name);
            assert_eq!(Action::from_name(n).unwrap(), a);
        }
        assert!(Action::from_index(36).is_err());
        assert!(Action::from_index(1000).is_err());
        assert!(Action::from_name("ENTER_OPP_10_SMALL").is_err());
    }

    #[test]
    fn layout_matches_the_plan() {
        assert_eq!(NAMES[0], "HOLD");
        assert_eq!(NAMES[1], "ENTER_OPP_0_SMALL");
        assert_eq!(NAMES[10], "ENTER_OPP_9_SMALL");
        assert_eq!(NAMES[11], "ENTER_OPP_0_MEDIUM");
        assert_eq!(NAMES[24], "ENTER_OPP_3_LARGE");
        assert_eq!(NAMES[30], "ENTER_OPP_9_LARGE");
        assert_eq!(NAMES[31], "EXIT_POS_0");
        assert_eq!(NAMES[35], "EXIT_POS_4");
        let slot = OpportunitySlot::new(3).unwrap();
        assert_eq!(Action::from_index(14).unwrap(), Action::Enter { slot, size: SizeTier::Medium });
        // A slot out of range cannot be made, so neither can its action.
        assert_eq!(OpportunitySlot::new(10), None);
        assert_eq!(PositionSlot::new(5), None);
        assert_eq!(PositionSlot::ALL.map(PositionSlot::index), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn mask_bits() {
        let mut m = ActionMask::hold_only();
        m.set(35, true);
        m.set(99, true);
        assert!(m.allows(0) && m.allows(35) && !m.allows(1) && !m.allows(99));
        assert_eq!(m.count(), 2);
        assert_eq!(m.iter().collect::<std::vec::Vec<_>>(), [0, 35]);
        assert_eq!(ActionMask::from_bools(&m.to_bools()), m);
        m.set(35, false);
        assert_eq!(m, ActionMask::hold_only());
    }
}
