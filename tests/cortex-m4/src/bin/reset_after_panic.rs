//! A real reset on an emulated Cortex-M4F: the first boot panics, the panic
//! handler records the crash in `.uninit` RAM and resets the core
//! (SYSRESETREQ); the second boot must find the crash and the boot count,
//! and produce `boots_total{reason="panic"}` and the crash report.
//! QEMU keeps RAM across a system reset as a chip does, and the boot count
//! tells the two boots apart (`tests/cortex-m4/run.sh` runs it).

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod device {
    use core::sync::atomic::{AtomicU32, Ordering};
    use core::task::Waker;

    use cortex_m_rt::entry;
    use cortex_m_semihosting::{debug, hprintln};
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use monlight_embassy::{
        AsyncTransport, CrashSlot, Endpoint, Monlight, Outcome, ResetReason, Uplink,
    };

    #[allow(unsafe_code)] // placing a static in a linker section is unsafe in Rust 2024
    #[unsafe(link_section = ".uninit.monlight_crash")]
    static CRASH: CrashSlot<256> = CrashSlot::new();

    static MONLIGHT: Monlight<CriticalSectionRawMutex, 1024> = Monlight::new();

    /// Time for embassy-time: a tick per reading is enough here.
    struct Ticks(AtomicU32);

    impl embassy_time_driver::Driver for Ticks {
        fn now(&self) -> u64 {
            self.0.fetch_add(1, Ordering::Relaxed).into()
        }
        fn schedule_wake(&self, _: u64, waker: &Waker) {
            waker.wake_by_ref();
        }
    }

    embassy_time_driver::time_driver_impl!(static TICKS: Ticks = Ticks(AtomicU32::new(0)));

    /// Keeps each body sent, for the checks.
    struct Captured {
        bodies: heapless::Vec<heapless::Vec<u8, 1024>, 4>,
    }

    impl AsyncTransport for Captured {
        async fn send(&mut self, _: Endpoint, body: &[u8]) -> Outcome {
            let kept = heapless::Vec::from_slice(body).unwrap_or_default();
            let _ = self.bodies.push(kept);
            Outcome::Delivered { status: 202 }
        }
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    }

    #[entry]
    fn main() -> ! {
        // QEMU models no reset flags: the reason must come from the slot.
        let boot = CRASH.boot(&mut || ResetReason::Unknown);
        hprintln!(
            "boot {}: last reset {}",
            boot.count(),
            boot.reason().as_str()
        );
        if boot.count() == 1 {
            panic!("deliberate panic before the reset");
        }
        let crash = boot.crash();
        let mut failures = 0;
        let mut check = |what: &str, ok: bool| {
            hprintln!("test {} ... {}", what, if ok { "ok" } else { "FAILED" });
            failures += usize::from(!ok);
        };
        check("the second boot is counted", boot.count() == 2);
        check(
            "its reason is the panic",
            boot.reason() == ResetReason::Panic,
        );
        check(
            "the crash is the first boot's",
            crash.is_some_and(|crash| {
                crash.message() == "deliberate panic before the reset" && crash.boot() == 1
            }),
        );
        check("the boot is reported", MONLIGHT.report_boot(&boot));
        let mut out = [0u8; 1024];
        let transport = Captured {
            bodies: heapless::Vec::new(),
        };
        let mut uplink = Uplink::new(transport, "qemu", &mut out).unwrap();
        embassy_futures::block_on(MONLIGHT.flush(&mut uplink));
        let bodies = &uplink.transport_mut().bodies;
        check(
            "the crash report is sent",
            bodies.iter().any(|body| {
                contains(body, r#""exception_type":"Panic""#)
                    && contains(body, r"\nboot 1, uptime ")
            }),
        );
        check(
            "boots_total{reason=panic} is sent",
            bodies.iter().any(|body| {
                contains(body, r#""name":"boots_total""#) && contains(body, r#""reason":"panic""#)
            }),
        );
        hprintln!("{} failed", failures);
        debug::exit(if failures == 0 {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        loop {
            cortex_m::asm::wfi();
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        CRASH.record_panic(info);
        cortex_m::peripheral::SCB::sys_reset()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {}
