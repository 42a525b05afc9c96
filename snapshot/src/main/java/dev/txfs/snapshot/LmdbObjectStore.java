package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;
import org.lmdbjava.CursorIterable;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.KeyRange;
import org.lmdbjava.LmdbException;
import org.lmdbjava.LmdbNativeException;
import org.lmdbjava.Txn;

/**
 * The store: one LMDB environment in a directory.
 *
 * <p>Layout: {@code txfs-store.conf} (format version and map size; its presence is what makes a
 * directory a store), {@code data.mdb} and {@code lock.mdb}; the directory is 0700 and its files
 * 0600 whatever the umask (see {@link StoreFiles}). Three databases: {@code objects} (id →
 * canonical bytes), {@code refs} (name → snapshot id), {@code meta} (format version).
 *
 * <p>Durability: opened with MDB_NOMETASYNC, so each object batch's data pages are fsync'ed at
 * commit and its meta page at the next sync; a ref update syncs fully before it returns. A crash
 * can lose the last object batch (unreferenced objects) but never a ref that was returned as set,
 * and never corrupts the environment. Several processes may open one store: LMDB serializes writers
 * across processes and readers never block.
 *
 * <p>Threads: safe for any thread; read transactions are per call and short (MDB_NOTLS).
 */
public final class LmdbObjectStore implements ObjectStore, RefStore {
    public static final int FORMAT = 1;
    public static final String CONF = "txfs-store.conf";
    /** Default map size: 1 TiB of address space; the file grows only as data is written. */
    public static final long DEFAULT_MAP_SIZE = 1L << 40;
    /** A writer commits its staged objects once they reach this many bytes. */
    static final int BATCH_BYTES = 32 << 20;

    private static final Logger LOG = Logger.getLogger(LmdbObjectStore.class.getName());

    private final Path dir;
    private final long mapSize;
    private final Env<ByteBuffer> env;
    private final Dbi<ByteBuffer> objects;
    private final Dbi<ByteBuffer> refs;
    private final Dbi<ByteBuffer> meta;
    private final StoreLock lock;
    private final AtomicBoolean closed = new AtomicBoolean();
    private static final ThreadLocal<ByteBuffer> KEY = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(511));

    private LmdbObjectStore(Path dir, long mapSize) {
        this.dir = dir;
        this.mapSize = mapSize;
        try {
            this.env = Env.create()
                    .setMapSize(mapSize)
                    .setMaxDbs(8)
                    .setMaxReaders(1024)
                    .open(dir.toFile(), 0600, EnvFlags.MDB_NOTLS, EnvFlags.MDB_NOMETASYNC);
        } catch (LmdbException e) {
            throw translate("cannot open store " + dir, e);
        }
        this.objects = env.openDbi("objects", DbiFlags.MDB_CREATE);
        this.refs = env.openDbi("refs", DbiFlags.MDB_CREATE);
        this.meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
        String format = write(txn -> {
            ByteBuffer k = key("format".getBytes(UTF_8));
            ByteBuffer v = meta.get(txn, k);
            if (v == null) {
                meta.put(txn, k, direct(Integer.toString(FORMAT).getBytes(UTF_8)));
                return Integer.toString(FORMAT);
            }
            return UTF_8.decode(v).toString();
        });
        if (!format.equals(Integer.toString(FORMAT))) {
            env.close();
            throw new StoreFormatException(
                    "store " + dir + " has format " + format + ", this txfs reads format " + FORMAT);
        }
        try {
            this.lock = StoreLock.acquireShared(dir);
        } catch (RuntimeException e) {
            env.close();
            throw e;
        }
    }

    /** Creates a store in {@code dir} (made if missing; must be empty or hold no store). */
    public static LmdbObjectStore create(Path dir, long mapSize) {
        if (mapSize < (1 << 20)) {
            throw new IllegalArgumentException("map size must be at least 1 MiB, got " + mapSize);
        }
        try {
            Files.createDirectories(dir);
            if (Files.exists(dir.resolve(CONF))) {
                throw new StoreFormatException("a store already exists in " + dir);
            }
            try (var list = Files.list(dir)) {
                if (list.findAny().isPresent()) {
                    throw new StoreFormatException("not creating a store in non-empty directory " + dir);
                }
            }
            Files.setPosixFilePermissions(dir, StoreFiles.DIRECTORY);
            Path tmp = dir.resolve(CONF + ".tmp");
            StoreFiles.writeNew(tmp, "# txfs store\nformat=" + FORMAT + "\nmap-size=" + mapSize + "\n");
            LmdbObjectStore store = new LmdbObjectStore(dir, mapSize);
            StoreFiles.tighten(dir, notice -> {}); // gc.lock, made with the umask's mode
            Files.move(tmp, dir.resolve(CONF), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return store;
        } catch (IOException e) {
            throw new TxfsException("cannot create store in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens an existing store; a clear error for a directory that is not one, a newer format or a
     * damaged data file. A store other users could read is tightened first (see {@link #open(Path,
     * Consumer)}), saying so in this class's log.
     */
    public static LmdbObjectStore open(Path dir) {
        return open(dir, notice -> LOG.warning(notice));
    }

    /**
     * As {@link #open(Path)}; when the caller owns the store (or is root) and the store directory
     * or anything in it gives group or others access, that access is taken away first and one line
     * saying so goes to {@code notices}.
     */
    public static LmdbObjectStore open(Path dir, Consumer<String> notices) {
        Path conf = dir.resolve(CONF);
        if (!Files.isDirectory(dir)) {
            throw new StoreFormatException("no store at " + dir + " (not a directory; create one with txfs init)");
        }
        if (!Files.isRegularFile(conf)) {
            throw new StoreFormatException("not a txfs store: " + dir + " (no " + CONF + ")");
        }
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(conf)) {
            p.load(in);
        } catch (IOException e) {
            throw new StoreFormatException("cannot read " + conf + ": " + e.getMessage());
        }
        int format;
        long mapSize;
        try {
            format = Integer.parseInt(p.getProperty("format", "").trim());
            mapSize = Long.parseLong(
                    p.getProperty("map-size", Long.toString(DEFAULT_MAP_SIZE)).trim());
        } catch (NumberFormatException e) {
            throw new StoreFormatException("malformed " + conf + ": " + e.getMessage());
        }
        if (format > FORMAT) {
            throw new StoreFormatException("store " + dir + " has format " + format + ", newer than this txfs reads ("
                    + FORMAT + "): upgrade txfs");
        }
        if (format < 1) {
            throw new StoreFormatException("unknown store format " + format + " in " + conf);
        }
        if (!Files.isRegularFile(dir.resolve("data.mdb"))) {
            throw new StoreFormatException("store " + dir + " has lost its data file data.mdb");
        }
        StoreFiles.tighten(dir, notices);
        StoreFiles.checkDataFile(dir.resolve("data.mdb"));
        return new LmdbObjectStore(dir, mapSize);
    }

    public Path directory() {
        return dir;
    }

    private static ByteBuffer key(byte[] k) {
        ByteBuffer b = KEY.get();
        b.clear();
        b.put(k).flip();
        return b;
    }

    private static ByteBuffer direct(byte[] v) {
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(1, v.length));
        b.put(v).flip();
        return b;
    }

    private static byte[] copy(ByteBuffer v) {
        byte[] out = new byte[v.remaining()];
        v.get(out);
        return out;
    }

    private <R> R read(Function<Txn<ByteBuffer>, R> body) {
        checkOpen();
        try (Txn<ByteBuffer> txn = env.txnRead()) {
            return body.apply(txn);
        } catch (LmdbException e) {
            throw translate("store read failed", e);
        }
    }

    private <R> R write(Function<Txn<ByteBuffer>, R> body) {
        checkOpen();
        try (Txn<ByteBuffer> txn = env.txnWrite()) {
            R r = body.apply(txn);
            txn.commit();
            return r;
        } catch (LmdbException e) {
            throw translate("store write failed", e);
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("store " + dir + " is closed");
        }
    }

    private RuntimeException translate(String what, LmdbException e) {
        if (e instanceof Env.MapFullException) {
            return new StoreFullException(
                    "store full: its map size of " + mapSize + " bytes is used up (" + dir
                            + "); nothing committed was lost",
                    e);
        }
        if (e instanceof LmdbNativeException n && n.getResultCode() == 28) {
            return new StoreFullException("store full: no space left on the device holding " + dir, e);
        }
        return new TxfsException(what + ": " + e.getMessage(), e);
    }

    @Override
    public Optional<byte[]> find(ObjectId id) {
        return read(txn -> {
            ByteBuffer v = objects.get(txn, key(id.toBytes()));
            return Optional.ofNullable(v == null ? null : copy(v));
        });
    }

    @Override
    public boolean contains(ObjectId id) {
        return read(txn -> objects.get(txn, key(id.toBytes())) != null);
    }

    @Override
    public ObjectWriter newWriter() {
        return new Writer();
    }

    @Override
    public RefStore refs() {
        return this;
    }

    @Override
    public void forEachId(Consumer<ObjectId> action) {
        // Collect first: the action may read the store, and a read transaction should stay short.
        List<ObjectId> batch = new ArrayList<>();
        ObjectId[] after = {null};
        do {
            batch.clear();
            read(txn -> {
                KeyRange<ByteBuffer> range =
                        after[0] == null ? KeyRange.all() : KeyRange.greaterThan(direct(after[0].toBytes()));
                try (CursorIterable<ByteBuffer> it = objects.iterate(txn, range)) {
                    for (CursorIterable.KeyVal<ByteBuffer> kv : it) {
                        batch.add(ObjectId.fromBytes(copy(kv.key()), 0));
                        if (batch.size() == 10_000) {
                            break;
                        }
                    }
                }
                return null;
            });
            batch.forEach(action);
            after[0] = batch.isEmpty() ? null : batch.get(batch.size() - 1);
        } while (batch.size() == 10_000);
    }

    @Override
    public List<ObjectId> findByPrefix(String hexPrefix, int limit) {
        if ((!hexPrefix.isEmpty() && !ObjectId.isHex(hexPrefix)) || hexPrefix.length() > 2 * ObjectId.LENGTH) {
            return List.of();
        }
        byte[] start = new byte[ObjectId.LENGTH];
        for (int i = 0; i + 1 < hexPrefix.length() && i / 2 < start.length; i += 2) {
            start[i / 2] = (byte) Integer.parseInt(hexPrefix.substring(i, i + 2), 16);
        }
        if (hexPrefix.length() % 2 == 1) {
            start[hexPrefix.length() / 2] = (byte) (Character.digit(hexPrefix.charAt(hexPrefix.length() - 1), 16) << 4);
        }
        return read(txn -> {
            List<ObjectId> out = new ArrayList<>();
            try (CursorIterable<ByteBuffer> it = objects.iterate(txn, KeyRange.atLeast(direct(start)))) {
                for (CursorIterable.KeyVal<ByteBuffer> kv : it) {
                    ObjectId id = ObjectId.fromBytes(copy(kv.key()), 0);
                    if (!id.toHex().startsWith(hexPrefix) || out.size() >= limit) {
                        break;
                    }
                    out.add(id);
                }
            }
            return out;
        });
    }

    @Override
    public StoreStats stats() {
        return read(txn -> {
            long entries = objects.stat(txn).entries;
            var info = env.info();
            long pageSize = env.stat().pageSize;
            return new StoreStats(entries, (info.lastPageNumber + 1) * pageSize, info.mapSize);
        });
    }

    @Override
    public Optional<ObjectId> find(String name) {
        if (name.isEmpty() || name.getBytes(UTF_8).length > 255) {
            return Optional.empty();
        }
        return read(txn -> {
            ByteBuffer v = refs.get(txn, key(name.getBytes(UTF_8)));
            return Optional.ofNullable(v == null ? null : ObjectId.fromBytes(copy(v), 0));
        });
    }

    @Override
    public boolean compareAndSet(String name, ObjectId expected, ObjectId next) {
        return compareAndSetAll(java.util.List.of(new Update(name, expected, next)));
    }

    @Override
    public boolean compareAndSetAll(java.util.List<Update> updates) {
        return compareAndSetAll(updates, java.util.List.of());
    }

    /**
     * Values live in the {@code meta} database under {@code "value/" + key}; stores written before
     * values existed simply have none, and older versions ignore these keys (format unchanged).
     */
    private static byte[] valueKey(String key) {
        if (key.isEmpty() || key.length() > 200) {
            throw new IllegalArgumentException("invalid value key: '" + key + "'");
        }
        return ("value/" + key).getBytes(UTF_8);
    }

    @Override
    public Optional<byte[]> findValue(String key) {
        byte[] k = valueKey(key);
        return read(txn -> {
            ByteBuffer v = meta.get(txn, key(k));
            return Optional.ofNullable(v == null ? null : copy(v));
        });
    }

    @Override
    public boolean compareAndSetAll(java.util.List<Update> updates, java.util.List<ValueUpdate> values) {
        updates.forEach(u -> RefStore.checkName(u.name()));
        values.forEach(v -> valueKey(v.key()));
        boolean set = write(txn -> setIfAllMatch(txn, updates, values));
        if (set) {
            env.sync(true);
        }
        return set;
    }

    /** In {@code txn}: applies every update if all hold their expected values; returns whether it did. */
    private boolean setIfAllMatch(Txn<ByteBuffer> txn, List<Update> updates, List<ValueUpdate> values) {
        for (ValueUpdate u : values) {
            ByteBuffer v = meta.get(txn, key(valueKey(u.key())));
            if (!java.util.Arrays.equals(v == null ? null : copy(v), u.expected())) {
                return false;
            }
        }
        for (Update u : updates) {
            ByteBuffer v = refs.get(txn, key(u.name().getBytes(UTF_8)));
            ObjectId current = v == null ? null : ObjectId.fromBytes(copy(v), 0);
            if (!Objects.equals(current, u.expected())) {
                return false;
            }
        }
        // Every comparison passed: only now write.
        for (ValueUpdate u : values) {
            ByteBuffer k = key(valueKey(u.key()));
            if (u.next() == null) {
                meta.delete(txn, k);
            } else {
                meta.put(txn, k, direct(u.next()));
            }
        }
        for (Update u : updates) {
            ByteBuffer k = key(u.name().getBytes(UTF_8));
            if (u.next() == null) {
                refs.delete(txn, k);
            } else {
                refs.put(txn, k, direct(u.next().toBytes()));
            }
        }
        return true;
    }

    @Override
    public SortedMap<String, ObjectId> list(String prefix) {
        return read(txn -> {
            TreeMap<String, ObjectId> out = new TreeMap<>();
            try (CursorIterable<ByteBuffer> it = refs.iterate(txn)) {
                for (CursorIterable.KeyVal<ByteBuffer> kv : it) {
                    String name = UTF_8.decode(kv.key()).toString();
                    if (name.startsWith(prefix)) {
                        out.put(name, ObjectId.fromBytes(copy(kv.val()), 0));
                    }
                }
            }
            return out;
        });
    }

    @Override
    public long delete(java.util.Collection<ObjectId> ids) {
        long freed = 0;
        List<ObjectId> all = new ArrayList<>(ids);
        for (int from = 0; from < all.size(); from += 10_000) {
            List<ObjectId> batch = all.subList(from, Math.min(all.size(), from + 10_000));
            freed += write(txn -> {
                long n = 0;
                for (ObjectId id : batch) {
                    ByteBuffer k = direct(id.toBytes());
                    ByteBuffer v = objects.get(txn, k);
                    if (v != null) {
                        n += v.remaining();
                        objects.delete(txn, k);
                    }
                }
                return n;
            });
        }
        env.sync(true);
        return freed;
    }

    private static final byte[] SHALLOW = "shallow".getBytes(UTF_8);

    @Override
    public java.util.Set<ObjectId> shallow() {
        return read(txn -> {
            ByteBuffer v = meta.get(txn, key(SHALLOW));
            java.util.Set<ObjectId> out = new java.util.TreeSet<>();
            if (v != null) {
                byte[] b = copy(v);
                for (int i = 0; i + ObjectId.LENGTH <= b.length; i += ObjectId.LENGTH) {
                    out.add(ObjectId.fromBytes(b, i));
                }
            }
            return out;
        });
    }

    @Override
    public void addShallow(java.util.Collection<ObjectId> ids) {
        write(txn -> {
            ByteBuffer old = meta.get(txn, key(SHALLOW));
            java.util.Set<ObjectId> all = new java.util.TreeSet<>(ids);
            if (old != null) {
                byte[] b = copy(old);
                for (int i = 0; i + ObjectId.LENGTH <= b.length; i += ObjectId.LENGTH) {
                    all.add(ObjectId.fromBytes(b, i));
                }
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (ObjectId id : all) {
                out.writeBytes(id.toBytes());
            }
            meta.put(txn, direct(SHALLOW), direct(out.toByteArray()));
            return null;
        });
        env.sync(true);
    }

    /**
     * Runs {@code body} with no other process holding the store open (waiting up to {@code wait}
     * for them), for garbage collection. Nothing else in this process may use the store meanwhile.
     */
    public <T> T exclusive(java.time.Duration wait, java.util.concurrent.Callable<T> body) throws Exception {
        checkOpen();
        return lock.exclusive(wait, body);
    }

    /** Overwrites an object's stored bytes without re-hashing: only for corruption tests. */
    public void corruptForTest(ObjectId id, byte[] bytes) {
        write(txn -> objects.put(txn, direct(id.toBytes()), direct(bytes)));
        env.sync(true);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            env.close();
            lock.release();
        }
    }

    /**
     * Stages puts and writes them in batches, each in one short write transaction. A write that
     * fails (a full store) keeps what was staged, and the next flush writes it: the caller may
     * already have moved on to those objects (a tree whose flush failed half way refers to them),
     * and a retried sync must not record a root whose trees were never written.
     */
    private final class Writer implements ObjectWriter {
        private final Map<ObjectId, byte[]> staged = new LinkedHashMap<>();
        private long stagedBytes;
        /** A write failed and {@link #staged} still holds what it did not write. */
        private boolean failed;
        /**
         * {@link #stagedBytes} when the last write failed (or after {@link #retainReachable}): a put
         * writes a batch once this much more is staged, so that what a failed write left does not
         * make every put retry it before the tree can let go of it.
         */
        private long stagedBytesAtFailure;

        private ByteBuffer keyBuf = ByteBuffer.allocateDirect(ObjectId.LENGTH);

        @Override
        public ObjectId put(byte[] canonical) {
            ObjectId id = ObjectId.hash(canonical);
            if (staged.putIfAbsent(id, canonical.clone()) == null) {
                stagedBytes += canonical.length + 64;
                if (stagedBytes - stagedBytesAtFailure >= BATCH_BYTES) {
                    flush();
                }
            }
            return id;
        }

        @Override
        public Optional<byte[]> find(ObjectId id) {
            byte[] b = staged.get(id);
            return b != null ? Optional.of(b.clone()) : LmdbObjectStore.this.find(id);
        }

        @Override
        public void flush() {
            if (staged.isEmpty()) {
                return;
            }
            writeStaged(txn -> null);
        }

        @Override
        public boolean flushAndSet(List<Update> updates) {
            updates.forEach(u -> RefStore.checkName(u.name()));
            boolean set = writeStaged(txn -> setIfAllMatch(txn, updates, List.of()));
            env.sync(true); // the objects and, if set, the refs: durable when this returns
            return set;
        }

        /**
         * Writes the staged objects and then {@code more} in one LMDB write transaction. On failure
         * the staged objects stay staged (a retried flush writes them) and the writer remembers it
         * failed; on success they are gone from memory.
         */
        private <T> T writeStaged(Function<Txn<ByteBuffer>, T> more) {
            T result;
            try {
                result = write(txn -> {
                    putStaged(txn);
                    return more.apply(txn);
                });
            } catch (RuntimeException e) {
                failed = true;
                stagedBytesAtFailure = stagedBytes;
                throw e;
            }
            staged.clear();
            stagedBytes = 0;
            stagedBytesAtFailure = 0;
            failed = false;
            return result;
        }

        @Override
        public void retainReachable(java.util.Collection<ObjectId> roots) {
            if (!failed) {
                return;
            }
            // Objects in the store refer only to objects in the store (children are put first and
            // written in the same batch or an earlier one), so the walk stops where staging ends.
            java.util.Set<ObjectId> reached = new java.util.HashSet<>();
            java.util.Deque<ObjectId> todo = new java.util.ArrayDeque<>(roots);
            while (!todo.isEmpty()) {
                ObjectId id = todo.pop();
                byte[] raw = staged.get(id);
                if (raw != null && reached.add(id)) {
                    ObjectGraph.references(raw, (ref, chunkBytes) -> todo.push(ref));
                }
            }
            staged.keySet().retainAll(reached);
            stagedBytes = 0;
            for (byte[] raw : staged.values()) {
                stagedBytes += raw.length + 64;
            }
            stagedBytesAtFailure = stagedBytes;
        }

        private void putStaged(Txn<ByteBuffer> txn) {
            for (Map.Entry<ObjectId, byte[]> e : staged.entrySet()) {
                keyBuf.clear();
                keyBuf.put(e.getKey().toBytes()).flip();
                if (objects.get(txn, keyBuf) == null) {
                    byte[] v = e.getValue();
                    objects.reserve(txn, keyBuf, v.length).put(v);
                }
            }
        }

        @Override
        public void close() {
            flush();
        }
    }
}
