//! The bridge's decoding of any bytes a client may send: never panics, and what decodes
//! encodes back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pacer_bridge::server::wire::{decode, error_reply, Decoded};

fuzz_target!(|data: &[u8]| {
    match decode(data, 1 << 20) {
        Decoded::Event(codec, event) => {
            let encoded = codec.encode_event(&event).expect("a decoded event encodes");
            let Decoded::Event(_, again) = decode(&encoded, usize::MAX) else {
                panic!("an encoded event does not decode");
            };
            assert_eq!(codec.encode_event(&again).unwrap(), encoded);
        }
        Decoded::Bad { codec, problem, .. } => {
            let _ = error_reply(codec, &problem);
        }
    }
});
