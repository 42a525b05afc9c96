package dev.txfs.tool;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The daemon's control channel: a Unix socket in the store directory, one per mount
 * ({@code run/<hash of the mount point>.sock}, mode 0600 in a 0700 directory: only the daemon's
 * user reaches it). One request line, one reply line: {@code ok <text>} or {@code err <message>}.
 * Malformed requests get {@code err} and change nothing.
 */
final class ControlSocket implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlSocket.class.getName());
    private static final int MAX_LINE = 64 * 1024;
    private static final java.util.regex.Pattern CODED_ERROR = java.util.regex.Pattern.compile("err:(\\d+) (.*)");

    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private ControlSocket(Path path, ServerSocketChannel server, Function<String, String> handler) {
        this.path = path;
        this.server = server;
        this.acceptor = new Thread(() -> serve(handler), "txfs-control");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static Path pathFor(Path store, Path mountpoint) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest(mountpoint.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return store.resolve("run").resolve(HexFormat.of().formatHex(h, 0, 8) + ".sock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Listens at {@code path}; {@code handler} maps a request line to a reply line. */
    static ControlSocket listen(Path path, Function<String, String> handler) throws IOException {
        Files.createDirectories(path.getParent());
        path.getParent().toFile().setReadable(false, false);
        path.getParent().toFile().setReadable(true, true);
        path.getParent().toFile().setExecutable(false, false);
        path.getParent().toFile().setExecutable(true, true);
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return new ControlSocket(path, server, handler);
    }

    private void serve(Function<String, String> handler) {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                String request = readLine(ch);
                String reply;
                try {
                    reply = request == null ? "err empty or oversized request" : handler.apply(request);
                } catch (RuntimeException | StackOverflowError e) {
                    // Answered, never dropped: a dropped connection reads as "the daemon died" to
                    // txfs umount, which then clears the mount and reports success.
                    LOG.log(Level.WARNING, "control request failed: " + request, e);
                    reply = "err " + e.getMessage();
                }
                ch.write(ByteBuffer.wrap((reply.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                if (server.isOpen()) {
                    LOG.log(Level.FINE, "control connection failed", e);
                }
            }
        }
    }

    private static String readLine(SocketChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_LINE);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                break;
            }
            int end = buf.position();
            for (int i = 0; i < end; i++) {
                if (buf.get(i) == '\n') {
                    return new String(buf.array(), 0, i, StandardCharsets.UTF_8);
                }
            }
        }
        return buf.position() == 0 || !buf.hasRemaining()
                ? null
                : new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
    }

    /** Sends one request and returns the reply text after {@code ok }; {@code err} becomes an exception. */
    static String call(Path path, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            String reply = readLine(ch);
            if (reply == null) {
                throw new IOException("the daemon closed the control connection");
            }
            if (reply.startsWith("ok")) {
                return reply.length() > 3 ? reply.substring(3) : "";
            }
            java.util.regex.Matcher coded = CODED_ERROR.matcher(reply);
            if (coded.matches()) { // "err:CODE message": a failure with its exit code
                int code = Integer.parseInt(coded.group(1));
                ExitCode exit = java.util.Arrays.stream(ExitCode.values())
                        .filter(c -> c.code == code)
                        .findFirst()
                        .orElse(ExitCode.FAILED);
                throw new ToolException(exit, coded.group(2));
            }
            throw new ToolException(ExitCode.FAILED, reply.startsWith("err ") ? reply.substring(4) : reply);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(path);
    }
}
