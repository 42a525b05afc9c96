package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The client side of the transaction control file {@code <mount>/.txfs/ctl}: one request written,
 * the reply read back from the same descriptor. The kernel tells the daemon who wrote it, so the
 * request carries no credentials.
 */
final class TxnClient {
    private TxnClient() {}

    /** The mount a transaction command works on: {@code --mount}, else the txfs holding the working directory. */
    static Path mountFor(Path option) throws ToolException {
        if (option != null) {
            Path mp = option.toAbsolutePath().normalize();
            return Mounts.at(mp)
                    .map(Mounts.TxfsMount::mountpoint)
                    .orElseThrow(() -> new ToolException(ExitCode.NOT_FOUND, "no txfs is mounted at " + mp));
        }
        // No fallback to "the only mount there is": a transaction command run anywhere would then
        // act on whichever mount happened to be alone, which on a shared machine is someone else's.
        Path cwd = Path.of("").toAbsolutePath();
        return Mounts.containing(cwd)
                .map(Mounts.TxfsMount::mountpoint)
                .orElseThrow(() -> new ToolException(
                        ExitCode.NOT_FOUND,
                        Mounts.list().isEmpty()
                                ? "no txfs is mounted"
                                : "the working directory is not in a txfs mount: cd into one, or say which with"
                                        + " --mount DIR"));
    }

    static String encode(String text) {
        return URLEncoder.encode(text, UTF_8);
    }

    /** Sends {@code fields} (tab-separated) and returns the reply's payload; a reply error becomes a ToolException. */
    static String call(Path mountpoint, String... fields) throws ToolException {
        Path ctl = mountpoint.resolve(".txfs").resolve("ctl");
        String request = String.join("\t", fields) + "\n";
        String reply;
        try (FileChannel ch = FileChannel.open(ctl, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(UTF_8));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteBuffer in = ByteBuffer.allocate(1 << 20);
            while (ch.read(in, in.position()) > 0 && in.hasRemaining()) {
                // a reply longer than one read comes in pieces
            }
            reply = new String(in.array(), 0, in.position(), UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ToolException(ExitCode.NOT_FOUND, "no transaction control file at " + ctl);
        } catch (IOException e) {
            throw new ToolException(ExitCode.FAILED, "control request to " + mountpoint + " failed: " + e.getMessage());
        }
        int nl = reply.indexOf('\n');
        String head = nl < 0 ? reply : reply.substring(0, nl);
        String body = nl < 0 ? "" : reply.substring(nl + 1);
        if (head.equals("ok")) {
            return body;
        }
        if (head.startsWith("error ")) {
            int code = Integer.parseInt(head.substring(6).trim());
            ExitCode ec = java.util.Arrays.stream(ExitCode.values())
                    .filter(e -> e.code == code)
                    .findFirst()
                    .orElse(ExitCode.FAILED);
            throw new ToolException(ec, body.strip());
        }
        throw new ToolException(ExitCode.FAILED, "unexpected reply from the daemon: " + head);
    }
}
