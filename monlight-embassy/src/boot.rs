//! Why the device last reset: the reasons a boot is counted under, and the
//! trait through which the application reads its chip's reset flags.

/// Why the device last reset: the `reason` label of `boots_total`.
///
/// `Panic` and `HardFault` are what monlight recorded itself (see
/// [`CrashSlot`](crate::CrashSlot)); they win over what the chip says (a
/// panic handler's reset reads as `Software`, a hang it ends as `Watchdog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ResetReason {
    /// Power was applied (or restored after a cut).
    PowerOn,
    /// The reset pin was driven (a button, a debugger).
    Pin,
    /// The firmware asked for it (`SCB::sys_reset`, an update).
    Software,
    /// A watchdog fired.
    Watchdog,
    /// The supply dropped below the brown-out threshold.
    BrownOut,
    /// A panic, recorded by [`CrashSlot::record_panic`](crate::CrashSlot::record_panic).
    Panic,
    /// A hard fault, recorded by [`CrashSlot::record_hard_fault`](crate::CrashSlot::record_hard_fault).
    HardFault,
    /// The chip did not say, or no [`ResetCause`] was given.
    Unknown,
}

impl ResetReason {
    /// The label value sent: `power_on`, `pin`, `software`, `watchdog`,
    /// `brown_out`, `panic`, `hard_fault` or `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResetReason::PowerOn => "power_on",
            ResetReason::Pin => "pin",
            ResetReason::Software => "software",
            ResetReason::Watchdog => "watchdog",
            ResetReason::BrownOut => "brown_out",
            ResetReason::Panic => "panic",
            ResetReason::HardFault => "hard_fault",
            ResetReason::Unknown => "unknown",
        }
    }
}

/// The chip's reset cause, implemented by the application for its chip and
/// given to [`CrashSlot::boot`](crate::CrashSlot::boot) once per boot.
///
/// Read the flags, then clear them, so that the next boot reads only its
/// own. On an STM32F4 the flags are in `RCC_CSR` (cleared by writing
/// `RMVF`); `examples/firmware` implements it so. A closure works too:
///
/// ```
/// use monlight_embassy::{ResetCause, ResetReason};
///
/// let mut cause = || ResetReason::Watchdog; // read a register here
/// assert_eq!(cause.take_reset_reason(), ResetReason::Watchdog);
/// ```
pub trait ResetCause {
    /// The reason of the last reset, read from the chip and then cleared.
    fn take_reset_reason(&mut self) -> ResetReason;
}

impl<F: FnMut() -> ResetReason> ResetCause for F {
    fn take_reset_reason(&mut self) -> ResetReason {
        self()
    }
}

/// A chip whose reset cause is not read: boots count as `unknown` unless
/// monlight recorded a panic or a hard fault.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnknownResetCause;

impl ResetCause for UnknownResetCause {
    fn take_reset_reason(&mut self) -> ResetReason {
        ResetReason::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CrashSlot;

    #[test]
    fn every_reason_the_chip_gives_is_the_boots_reason_and_label() {
        let slot = CrashSlot::<96>::new();
        let labels = [
            (ResetReason::PowerOn, "power_on"),
            (ResetReason::Pin, "pin"),
            (ResetReason::Software, "software"),
            (ResetReason::Watchdog, "watchdog"),
            (ResetReason::BrownOut, "brown_out"),
            (ResetReason::Panic, "panic"),
            (ResetReason::HardFault, "hard_fault"),
            (ResetReason::Unknown, "unknown"),
        ];
        for (count, (reason, label)) in (1..).zip(labels) {
            let boot = slot.boot(&mut || reason);
            assert_eq!((boot.count(), boot.reason()), (count, reason));
            assert_eq!(reason.as_str(), label);
        }
        assert_eq!(
            slot.boot(&mut UnknownResetCause).reason(),
            ResetReason::Unknown
        );
    }
}
