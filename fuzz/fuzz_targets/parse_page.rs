//! Fuzzes the page parser with arbitrary server bodies: it must return a page or a one-line
//! error, never panic, and whatever it accepts must re-parse to the same content.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match macat::api::types::parse_page(body) {
        Ok(page) => {
            for item in &page.items {
                let again = macat::api::types::Item::from_raw(&item.raw).expect("stored form parses");
                assert_eq!(again.hash, item.hash);
                assert_eq!(again.raw, item.raw);
            }
        }
        Err(e) => assert!(!e.is_empty()),
    }
});
