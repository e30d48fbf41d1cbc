//! Real resets on an emulated Cortex-M4F: the first boot panics, the
//! panic handler records the crash in `.uninit` RAM and resets the core
//! (SYSRESETREQ); the second boot must find the crash and the boot count
//! and produce `boots_total{reason="panic"}` and the crash report, then
//! executes an undefined instruction; the HardFault handler records the
//! faulting PC and LR and resets, and the third boot must report the hard
//! fault. QEMU keeps RAM across a system reset as a chip does, and the boot
//! count tells the boots apart (`tests/cortex-m4/run.sh` runs it).

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
        AsyncTransport, Boot, CrashSlot, Endpoint, Monlight, Outcome, ResetReason, Uplink,
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
        let failures = match boot.count() {
            2 => after_the_panic(&boot),
            _ => after_the_hard_fault(&boot),
        };
        if failures == 0 && boot.count() == 2 {
            hprintln!("executing an undefined instruction");
            cortex_m::asm::udf();
        }
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

    /// Prints and counts one check.
    fn check(failures: &mut usize, what: &str, ok: bool) {
        hprintln!("test {} ... {}", what, if ok { "ok" } else { "FAILED" });
        *failures += usize::from(!ok);
    }

    /// Reports `boot` and returns the bodies sent.
    fn report(boot: &Boot<256>) -> heapless::Vec<heapless::Vec<u8, 1024>, 4> {
        MONLIGHT.report_boot(boot);
        let mut out = [0u8; 1024];
        let transport = Captured {
            bodies: heapless::Vec::new(),
        };
        let mut uplink = Uplink::new(transport, "qemu", &mut out).unwrap();
        embassy_futures::block_on(MONLIGHT.flush(&mut uplink));
        core::mem::take(&mut uplink.transport_mut().bodies)
    }

    fn after_the_panic(boot: &Boot<256>) -> usize {
        let mut failures = 0;
        check(
            &mut failures,
            "the second boot is counted",
            boot.count() == 2,
        );
        check(
            &mut failures,
            "its reason is the panic",
            boot.reason() == ResetReason::Panic,
        );
        check(
            &mut failures,
            "the crash is the first boot's",
            boot.crash().is_some_and(|crash| {
                crash.message() == "deliberate panic before the reset" && crash.boot() == 1
            }),
        );
        let bodies = report(boot);
        check(
            &mut failures,
            "the crash report is sent",
            bodies.iter().any(|body| {
                contains(body, r#""exception_type":"Panic""#)
                    && contains(body, r"\nboot 1, uptime ")
            }),
        );
        check(
            &mut failures,
            "boots_total{reason=panic} is sent",
            bodies.iter().any(|body| {
                contains(body, r#""name":"boots_total""#) && contains(body, r#""reason":"panic""#)
            }),
        );
        failures
    }

    fn after_the_hard_fault(boot: &Boot<256>) -> usize {
        if let Some(crash) = boot.crash() {
            hprintln!("recorded: {}", crash.message());
        }
        let mut failures = 0;
        check(
            &mut failures,
            "the third boot is counted",
            boot.count() == 3,
        );
        check(
            &mut failures,
            "its reason is the hard fault",
            boot.reason() == ResetReason::HardFault,
        );
        check(
            &mut failures,
            "the fault's PC is in flash and named",
            boot.crash().is_some_and(|crash| {
                let pc = u32::from_str_radix(crash.site().file.trim_start_matches("0x"), 16);
                pc.is_ok_and(|pc| pc < 0x0040_0000)
                    && crash.message().starts_with("hard fault at pc 0x")
                    && crash.boot() == 2
            }),
        );
        let bodies = report(boot);
        check(
            &mut failures,
            "the hard fault report is sent",
            bodies.iter().any(|body| {
                contains(body, r#""exception_type":"HardFault""#)
                    && contains(body, r"\nboot 2, uptime ")
            }),
        );
        check(
            &mut failures,
            "boots_total{reason=hard_fault} is sent",
            bodies
                .iter()
                .any(|body| contains(body, r#""reason":"hard_fault""#)),
        );
        failures
    }

    #[allow(unsafe_code)] // cortex-m-rt declares the HardFault handler unsafe
    #[cortex_m_rt::exception]
    unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
        CRASH.record_hard_fault(frame.pc(), frame.lr());
        cortex_m::peripheral::SCB::sys_reset()
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        CRASH.record_panic(info);
        cortex_m::peripheral::SCB::sys_reset()
    }
}

#[cfg(not(target_os = "none"))]
fn main() {}
