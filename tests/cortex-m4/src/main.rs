//! monlight-core tested where it runs: a Cortex-M4F (32-bit, f64 in
//! software), emulated by QEMU's `mps2-an386` machine, results printed over
//! semihosting. The same checks run on the host (`cargo test`).
//!
//! ```sh
//! tests/cortex-m4/run.sh   # fetches QEMU into target/qemu once, builds, runs
//! ```
//!
//! Prints one line per check, then `N passed, N failed`, and exits with
//! QEMU's status 0 only if all passed.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod checks;

/// Runs every check; `say` prints a line. Returns the failures.
fn run_all(mut say: impl FnMut(core::fmt::Arguments<'_>)) -> usize {
    let mut failed = 0;
    for (name, check) in checks::CHECKS {
        match check() {
            Ok(()) => say(format_args!("test {name} ... ok")),
            Err(failure) => {
                failed += 1;
                say(format_args!(
                    "test {name} ... FAILED at line {}: {}",
                    failure.line, failure.what
                ));
            }
        }
    }
    let passed = checks::CHECKS.len() - failed;
    say(format_args!("{passed} passed, {failed} failed"));
    failed
}

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::{debug, hprintln};

    #[entry]
    fn main() -> ! {
        let failed = super::run_all(|line| hprintln!("{}", line));
        debug::exit(if failed == 0 {
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
        hprintln!("panicked: {}", info);
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    let failed = run_all(|line| println!("{line}"));
    std::process::exit(i32::from(failed > 0));
}

#[cfg(all(test, not(target_os = "none")))]
mod tests {
    #[test]
    fn every_check_passes_on_the_host() {
        assert_eq!(super::run_all(|line| println!("{line}")), 0);
    }
}
