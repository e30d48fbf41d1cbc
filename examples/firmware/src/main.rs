//! monlight on a Nucleo-F429ZI (STM32F429ZI, Cortex-M4F, Ethernet) with
//! Embassy: a boiler controller that records a temperature gauge, a loop
//! duration histogram and counters, reports sensor errors, reports its own
//! crashes (panics and hard faults) after the reset that follows them, and
//! counts its boots by reset reason. The network comes up by DHCP;
//! monlight's flush task sends every 10 s over embassy-net.
//!
//! Build: `cargo build --release -p monlight-firmware-example --target thumbv7em-none-eabihf`
//! Set the servers at build time (defaults in brackets):
//! `MONLIGHT_METRICS_COLLECTOR` [192.168.1.10:5012],
//! `MONLIGHT_ERROR_TRACKER` [192.168.1.10:5010], `MONLIGHT_API_KEY`.
//! On the host this compiles to an empty program.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(all(target_os = "none", feature = "boot-reason"))]
mod reset_cause;

#[cfg(target_os = "none")]
#[cfg_attr(not(feature = "monlight"), allow(dead_code))] // the servers' settings
mod firmware {
    use embassy_executor::Spawner;
    use embassy_net::StackResources;
    use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue, Sma};
    use embassy_stm32::peripherals::{ETH, ETH_SMA};
    use embassy_stm32::rng::Rng;
    use embassy_stm32::{Config, bind_interrupts, eth, peripherals, rng};
    use embassy_time::{Instant, Timer};
    use static_cell::StaticCell;

    #[cfg(feature = "crash-slot")]
    use monlight_embassy::CrashSlot;
    #[cfg(feature = "persist-reports")]
    use monlight_embassy::ReportVault;
    #[cfg(feature = "monlight")]
    use monlight_embassy::{Collector, Monlight, TcpTransport, Uplink};

    bind_interrupts!(struct Irqs {
        ETH => eth::InterruptHandler;
        HASH_RNG => rng::InterruptHandler<peripherals::RNG>;
    });

    const PROJECT: &str = "boiler-fw";
    const API_KEY: &str = match option_env!("MONLIGHT_API_KEY") {
        Some(key) => key,
        None => "change-me",
    };
    /// Parsed at compile time: a malformed address fails the build.
    #[cfg(feature = "monlight")]
    const METRICS_COLLECTOR: Collector = collector(
        option_env!("MONLIGHT_METRICS_COLLECTOR"),
        "192.168.1.10:5012",
    );
    #[cfg(feature = "monlight")]
    const ERROR_TRACKER: Collector =
        collector(option_env!("MONLIGHT_ERROR_TRACKER"), "192.168.1.10:5010");

    #[cfg(feature = "monlight")]
    const fn collector(given: Option<&'static str>, default: &'static str) -> Collector<'static> {
        Collector::from_static(match given {
            Some(address) => address,
            None => default,
        })
    }

    /// Points, error queue and counters: 4 KiB of points (about 50 typical
    /// points, 5 s of this loop) plus ~1 KiB.
    #[cfg(feature = "monlight")]
    type Telemetry = Monlight<embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex, 4096>;
    #[cfg(feature = "monlight")]
    static MONLIGHT: Telemetry = Monlight::new();
    // Its RAM is known at compile time (the 4 KiB of points plus about
    // 1 KiB): a budget the build checks.
    #[cfg(feature = "monlight")]
    const _: () = assert!(Telemetry::RAM_BYTES <= 4096 + 1280);

    /// A panic's message and location (or a hard fault's addresses) and
    /// the boot count, kept across the reset that follows: `.uninit` is
    /// neither loaded nor zeroed by cortex-m-rt.
    #[cfg(feature = "crash-slot")]
    #[allow(unsafe_code)] // placing a static in a linker section is unsafe in Rust 2024
    #[unsafe(link_section = ".uninit.monlight_crash")]
    static CRASH: CrashSlot<256> = CrashSlot::new();

    /// Error reports not yet sent when the device resets, sent after the
    /// next boot (`.uninit` too).
    #[cfg(feature = "persist-reports")]
    #[allow(unsafe_code)] // placing a static in a linker section is unsafe in Rust 2024
    #[unsafe(link_section = ".uninit.monlight_reports")]
    static REPORTS: ReportVault<4> = ReportVault::new();

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        #[cfg(feature = "crash-report")]
        CRASH.record_panic(info);
        #[cfg(all(feature = "crash-lite", not(feature = "crash-report")))]
        CRASH.record_panic_only();
        #[cfg(not(feature = "crash-report"))]
        let _ = info;
        cortex_m::peripheral::SCB::sys_reset()
    }

    /// A hard fault (a bad address, an invalid instruction): its PC and LR
    /// kept across the reset, reported after boot as one group per PC.
    #[cfg(feature = "crash-slot")]
    #[allow(unsafe_code)] // cortex-m-rt declares the HardFault handler unsafe
    #[cortex_m_rt::exception]
    unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
        CRASH.record_hard_fault(frame.pc(), frame.lr());
        cortex_m::peripheral::SCB::sys_reset()
    }

    type EthernetDevice = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

    #[embassy_executor::task]
    async fn net_task(mut runner: embassy_net::Runner<'static, EthernetDevice>) -> ! {
        runner.run().await
    }

    /// monlight's flush task: connects per request, sends what is buffered
    /// every 10 s and when `MONLIGHT.flush_now()` is called.
    #[cfg(feature = "monlight")]
    #[embassy_executor::task]
    async fn monlight_task(
        stack: embassy_net::Stack<'static>,
        #[cfg(feature = "tls")] rng: Rng<'static, peripherals::RNG>,
    ) -> ! {
        use embassy_net::tcp::client::{TcpClient, TcpClientState};
        // One connection at a time; the body streams through 1 KiB TX.
        static TCP: StaticCell<TcpClientState<1, 1024, 1024>> = StaticCell::new();
        let tcp = TcpClient::new(stack, TCP.init(TcpClientState::new()));
        let mut scratch = [0u8; 512];
        let transport = TcpTransport::new(&tcp, API_KEY, &mut scratch);
        // TLS 1.3 to a terminator in front of the servers (set the
        // addresses to its host:port). Its record buffers are static: the
        // largest record a server may send, and a handshake's.
        #[cfg(feature = "tls")]
        let transport = {
            use monlight_embassy::TlsConnect;
            use monlight_embassy::embedded_tls::{Aes128GcmSha256, UnsecureProvider};
            use static_cell::ConstStaticCell;
            static READ: ConstStaticCell<[u8; 16_640]> = ConstStaticCell::new([0; 16_640]);
            static WRITE: ConstStaticCell<[u8; 2048]> = ConstStaticCell::new([0; 2048]);
            // Encrypts, but checks no certificate: see TlsConnect's docs
            // for a provider that verifies the server against your CA.
            let provider = UnsecureProvider::new::<Aes128GcmSha256>(rng);
            transport.map_connector(|tcp| TlsConnect::new(tcp, READ.take(), WRITE.take(), provider))
        };
        let transport = transport
            .metrics_collector(METRICS_COLLECTOR)
            .error_tracker(ERROR_TRACKER);
        let mut out = [0u8; 2048];
        let uplink = Uplink::new(transport, PROJECT, &mut out).unwrap();
        // Hourly health gauges: uptime, the SDK's own counters, and ours.
        #[cfg(feature = "heartbeat")]
        let uplink = uplink.heartbeat(embassy_time::Duration::from_secs(3600), |beat| {
            beat.gauge("loop_overruns", 0.0);
        });
        MONLIGHT.run(uplink).await
    }

    /// The baseline without monlight: the same readings pushed over TCP by
    /// hand, so that comparing sizes isolates monlight from the TCP stack
    /// that any networked firmware carries.
    #[cfg(not(feature = "monlight"))]
    #[embassy_executor::task]
    async fn baseline_task(stack: embassy_net::Stack<'static>) -> ! {
        use embassy_net::tcp::client::{TcpClient, TcpClientState};
        use embedded_io_async::{Read, Write};
        use embedded_nal_async::TcpConnect;
        static TCP: StaticCell<TcpClientState<1, 1024, 1024>> = StaticCell::new();
        let tcp = TcpClient::new(stack, TCP.init(TcpClientState::new()));
        let server = core::net::SocketAddr::from(([192, 168, 1, 10], 5012));
        loop {
            Timer::after_secs(10).await;
            if let Ok(mut connection) = tcp.connect(server).await {
                let reading = READING.load(core::sync::atomic::Ordering::Relaxed);
                let _ = connection.write_all(&reading.to_le_bytes()).await;
                let mut answer = [0u8; 64];
                let _ = connection.read(&mut answer).await;
            }
        }
    }

    #[cfg(not(feature = "monlight"))]
    static READING: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

    #[embassy_executor::main]
    async fn main(spawner: Spawner) {
        let p = embassy_stm32::init(clocks());

        // Before anything is reported: what the reset took from the queue.
        #[cfg(feature = "persist-reports")]
        MONLIGHT.keep_reports_in(&REPORTS);
        // `boots_total{reason}`, and the crash that caused the reset.
        #[cfg(feature = "boot-reason")]
        MONLIGHT.report_boot(&CRASH.boot(&mut crate::reset_cause::Stm32f4ResetCause));
        #[cfg(all(feature = "crash-slot", not(feature = "boot-reason")))]
        if let Some(crash) = CRASH.take() {
            MONLIGHT.report_crash(&crash);
        }
        #[cfg(all(feature = "monlight", not(feature = "boot-reason")))]
        MONLIGHT.counter("boots_total", &[]).ok();

        let mut rng = Rng::new(p.RNG, Irqs);
        let mut seed = [0; 8];
        rng.fill_bytes(&mut seed);
        static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
        let device = Ethernet::new(
            PACKETS.init(PacketQueue::new()),
            p.ETH,
            Irqs,
            p.PA1,
            p.PA7,
            p.PC4,
            p.PC5,
            p.PG13,
            p.PB13,
            p.PG11,
            [0x02, 0x00, 0x00, 0x4d, 0x4c, 0x01], // locally administered
            p.ETH_SMA,
            p.PA2,
            p.PC1,
        );
        static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
        let (stack, runner) = embassy_net::new(
            device,
            embassy_net::Config::dhcpv4(Default::default()),
            RESOURCES.init(StackResources::new()),
            u64::from_le_bytes(seed),
        );
        spawner.spawn(net_task(runner).unwrap());
        stack.wait_config_up().await;
        #[cfg(feature = "monlight")]
        spawner.spawn(
            monlight_task(
                stack,
                #[cfg(feature = "tls")]
                rng,
            )
            .unwrap(),
        );
        #[cfg(not(feature = "monlight"))]
        spawner.spawn(baseline_task(stack).unwrap());

        let mut sensor = SimulatedSensor::default();
        loop {
            let started = Instant::now();
            match sensor.read() {
                Ok(celsius) => {
                    #[cfg(feature = "monlight")]
                    MONLIGHT
                        .gauge(
                            "boiler_temperature_celsius",
                            celsius,
                            &[("sensor", "boiler")],
                        )
                        .ok();
                    #[cfg(not(feature = "monlight"))]
                    READING.store(
                        (celsius * 100.0) as u32,
                        core::sync::atomic::Ordering::Relaxed,
                    );
                }
                Err(_timeout) => {
                    #[cfg(feature = "monlight")]
                    {
                        MONLIGHT.report_error("SensorTimeout", "no answer from the boiler sensor");
                        MONLIGHT.flush_now(); // errors go out without waiting for the tick
                    }
                }
            }
            #[cfg(feature = "monlight")]
            MONLIGHT
                .histogram(
                    "control_loop_seconds",
                    started.elapsed().as_micros() as f64 / 1e6,
                    &[],
                )
                .ok();
            // The same loop time, computed and kept, so that the
            // difference in size is monlight's and not this arithmetic's.
            #[cfg(not(feature = "monlight"))]
            core::hint::black_box(started.elapsed().as_micros() as f64 / 1e6);
            Timer::after_secs(1).await;
        }
    }

    /// 168 MHz from the ST-LINK's 8 MHz clock, with the 48 MHz the RNG needs.
    fn clocks() -> Config {
        use embassy_stm32::rcc::{
            AHBPrescaler, APBPrescaler, Hse, HseMode, Pll, PllMul, PllPDiv, PllPreDiv, PllQDiv,
            PllSource, Sysclk,
        };
        use embassy_stm32::time::Hertz;
        let mut config = Config::default();
        config.rcc.hse = Some(Hse {
            freq: Hertz(8_000_000),
            mode: HseMode::Bypass,
        });
        config.rcc.pll_src = PllSource::HSE;
        config.rcc.pll = Some(Pll {
            prediv: PllPreDiv::DIV4,
            mul: PllMul::MUL168,
            divp: Some(PllPDiv::DIV2),
            divq: Some(PllQDiv::DIV7),
            divr: None,
        });
        config.rcc.ahb_pre = AHBPrescaler::DIV1;
        config.rcc.apb1_pre = APBPrescaler::DIV4;
        config.rcc.apb2_pre = APBPrescaler::DIV2;
        config.rcc.sys = Sysclk::PLL1_P;
        config
    }

    /// Stands in for a real sensor: a slow wave around 65 °C, and a timeout
    /// every 97th read.
    #[derive(Default)]
    struct SimulatedSensor {
        reads: u32,
    }

    impl SimulatedSensor {
        fn read(&mut self) -> Result<f64, ()> {
            self.reads += 1;
            if self.reads.is_multiple_of(97) {
                return Err(());
            }
            let phase = f64::from(self.reads % 60) / 60.0;
            Ok(65.0 + 4.0 * (phase - 0.5))
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {}
