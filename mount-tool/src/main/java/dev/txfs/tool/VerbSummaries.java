package dev.txfs.tool;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.IHelpSectionRenderer;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * The verb list of {@code txfs help}: each verb's summary is its header, else the first whole sentence
 * of its description (picocli's own list takes the description's first line, which cuts sentences).
 */
final class VerbSummaries implements IHelpSectionRenderer {
    /** A sentence ends at a period followed by a space or the end ("txfs.root" and "FILE.pub" do not end one). */
    private static final Pattern SENTENCE_END = Pattern.compile("\\.(?=\\s|$)");

    @Override
    public String render(Help help) {
        Map<String, Help> verbs = help.subcommands();
        if (verbs.isEmpty()) {
            return "";
        }
        int nameWidth = 0;
        for (String name : verbs.keySet()) {
            nameWidth = Math.max(nameWidth, name.length());
        }
        TextTable table = TextTable.forColumns(
                help.colorScheme(),
                new Column(nameWidth + 2, 2, Column.Overflow.SPAN),
                new Column(help.commandSpec().usageMessage().width() - (nameWidth + 2), 2, Column.Overflow.WRAP));
        for (Map.Entry<String, Help> verb : verbs.entrySet()) {
            UsageMessageSpec usage = verb.getValue().commandSpec().usageMessage();
            if (usage.hidden()) {
                continue;
            }
            table.addRowValues(verb.getKey(), summary(usage.header(), usage.description()));
        }
        return table.toString();
    }

    /** The header's first line, else the description's first sentence (the whole text if it has no period). */
    static String summary(String[] header, String[] description) {
        if (header.length > 0 && !header[0].isBlank()) {
            return header[0].strip();
        }
        String text = String.join(" ", description).strip().replaceAll("\\s+", " ");
        Matcher end = SENTENCE_END.matcher(text);
        return end.find() ? text.substring(0, end.end()) : text;
    }
}
