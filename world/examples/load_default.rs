//! Times loading the embedded default world (a quick check, not a benchmark).
fn main() {
    let t = std::time::Instant::now();
    let w = dt_world::World::default_world(None);
    println!(
        "default world: {} devices, loaded in {:?}",
        w.devices().len(),
        t.elapsed()
    );
}
