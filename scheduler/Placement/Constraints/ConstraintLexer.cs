using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement.Constraints;

/// <summary>Splits a constraint expression into tokens, keeping each token's position for errors.</summary>
internal static class ConstraintLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            var position = i + 1;
            switch (c)
            {
                case '(': tokens.Add(new Token(TokenKind.LeftParen, "(", position)); i++; continue;
                case ')': tokens.Add(new Token(TokenKind.RightParen, ")", position)); i++; continue;
                case '[': tokens.Add(new Token(TokenKind.LeftBracket, "[", position)); i++; continue;
                case ']': tokens.Add(new Token(TokenKind.RightBracket, "]", position)); i++; continue;
                case ',': tokens.Add(new Token(TokenKind.Comma, ",", position)); i++; continue;
                case '=' when Peek(text, i + 1) == '=':
                    tokens.Add(new Token(TokenKind.Equal, "==", position)); i += 2; continue;
                case '!' when Peek(text, i + 1) == '=':
                    tokens.Add(new Token(TokenKind.NotEqual, "!=", position)); i += 2; continue;
                case '!': tokens.Add(new Token(TokenKind.Not, "!", position)); i++; continue;
                case '&' when Peek(text, i + 1) == '&':
                    tokens.Add(new Token(TokenKind.And, "&&", position)); i += 2; continue;
                case '|' when Peek(text, i + 1) == '|':
                    tokens.Add(new Token(TokenKind.Or, "||", position)); i += 2; continue;
                case '"' or '\'':
                    tokens.Add(ReadQuoted(text, ref i));
                    continue;
            }

            if (!IsWordChar(c))
            {
                throw new ConstraintSyntaxException($"unexpected character '{Echo.Clip(c.ToString())}'", position);
            }

            var start = i;
            while (i < text.Length && IsWordChar(text[i]))
            {
                i++;
            }

            tokens.Add(new Token(TokenKind.Word, text[start..i], position));
        }

        tokens.Add(new Token(TokenKind.End, "", text.Length + 1));
        return tokens;
    }

    private static char Peek(string text, int index) => index < text.Length ? text[index] : '\0';

    // Letters, digits and the punctuation that attribute names and values use (zone, us-east-1a,
    // t2.micro, attribute:orchestrator.os-type, 10.0/8).
    private static bool IsWordChar(char c) =>
        char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or ':' or '/' or '*' or '@' or '+';

    private static Token ReadQuoted(string text, ref int i)
    {
        var quote = text[i];
        var position = i + 1;
        var end = text.IndexOf(quote, i + 1);
        if (end < 0)
        {
            throw new ConstraintSyntaxException("unterminated quoted value", position);
        }

        var value = text[(i + 1)..end];
        i = end + 1;
        return new Token(TokenKind.Quoted, value, position);
    }
}
