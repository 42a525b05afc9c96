package dev.txfs.journal;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.RefStore;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A read-only {@link ObjectStore} over a lookup function, for the snapshot readers that take a
 * store: through an {@link ObjectWriter} (objects a merge has staged but not flushed), or over one
 * object already read (so decoding it through {@link dev.txfs.snapshot.Directories} does not read
 * it again). Everything but reading is unsupported.
 */
final class ReadView implements ObjectStore {
    private final Function<ObjectId, Optional<byte[]>> finder;

    private ReadView(Function<ObjectId, Optional<byte[]>> finder) {
        this.finder = finder;
    }

    /** Objects staged in {@code out} or already in its store. */
    static ReadView of(ObjectWriter out) {
        return new ReadView(out::find);
    }

    @Override
    public Optional<byte[]> find(ObjectId id) {
        return finder.apply(id);
    }

    @Override
    public boolean contains(ObjectId id) {
        return finder.apply(id).isPresent();
    }

    @Override
    public ObjectWriter newWriter() {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public RefStore refs() {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public void forEachId(Consumer<ObjectId> action) {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public long delete(java.util.Collection<ObjectId> ids) {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public java.util.Set<ObjectId> shallow() {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public void addShallow(java.util.Collection<ObjectId> ids) {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public StoreStats stats() {
        throw new UnsupportedOperationException("read-only view");
    }

    @Override
    public void close() {}
}
