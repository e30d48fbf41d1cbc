//! Why the STM32F4 last reset: its flags in `RCC_CSR`, read once after boot
//! and then cleared (they stay set across resets until cleared, so an
//! uncleared flag would be read again by every later boot).

use embassy_stm32::pac::RCC;
use monlight_embassy::{ResetCause, ResetReason};

/// The STM32F4's reset flags (RM0090, 6.3.21 "RCC clock control & status
/// register").
pub(crate) struct Stm32f4ResetCause;

impl ResetCause for Stm32f4ResetCause {
    fn take_reset_reason(&mut self) -> ResetReason {
        let flags = RCC.csr().read();
        RCC.csr().modify(|w| w.set_rmvf(true));
        // Every reset also drives the reset pin, and a power-on also sets
        // the brown-out flag: the specific causes are tested first.
        if flags.wdgrstf() || flags.wwdgrstf() {
            ResetReason::Watchdog
        } else if flags.sftrstf() {
            ResetReason::Software
        } else if flags.porrstf() {
            ResetReason::PowerOn
        } else if flags.borrstf() {
            ResetReason::BrownOut
        } else if flags.padrstf() {
            ResetReason::Pin
        } else {
            // Low-power management reset, or no flag at all.
            ResetReason::Unknown
        }
    }
}
