//! Warnings through defmt with the `defmt` feature; without it nothing is
//! printed and the arguments are not formatted.

macro_rules! warning {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($fmt $(, $arg)*);
        #[cfg(not(feature = "defmt"))]
        {
            $(let _ = &$arg;)*
        }
    }};
}

pub(crate) use warning;
