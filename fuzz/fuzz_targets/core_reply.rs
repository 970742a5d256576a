//! The decoding of a bridge's reply, as the core does it: never panics, in either codec.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pacer_protocol::Codec;

fuzz_target!(|data: &[u8]| {
    for codec in [Codec::Json, Codec::MessagePack] {
        if let Ok(reply) = codec.decode_reply(data) {
            let encoded = codec.encode_reply(&reply).expect("a decoded reply encodes");
            assert_eq!(codec.decode_reply(&encoded).unwrap(), reply);
        }
    }
});
