# Conveniences; every recipe is a plain cargo command you can run without `just`.

# Serve the bundled recordings on ws://localhost:8000/ws
run *ARGS:
    cargo run --release -- {{ARGS}}

# Run every test
test:
    cargo test

# Validate the bundled recordings
check:
    cargo run --release -- check recordings

# Format check and clippy, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Property tests of every parser, about a million cases (9 properties x 112,000; FUZZING in BENCHMARKS.md)
fuzz:
    PROPTEST_CASES=112000 cargo test --test fuzz

# Regenerate the JSON Schemas in schema/
schema:
    cargo run -- schema

# Benchmarks: release build, then the whole suite as one table (BENCHMARKS.md; flags such as --json FILE pass through)
bench *ARGS:
    cargo build --release --bins
    cargo run --release --bin pawmock-load -- suite {{ARGS}}
