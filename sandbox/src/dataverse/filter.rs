//! The part of OData `$filter` the bridge and its tests use.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq)]
pub enum Error {
    Syntax(String),
    UnknownProperty(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    Guid(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Function {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        column: String,
        equal: bool,
        value: Literal,
    },
    Call {
        function: Function,
        column: String,
        value: String,
    },
}

pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Result<Expr, Error> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        known: &known,
        text,
    };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(parser.syntax("unexpected token"));
    }
    Ok(expr)
}

fn tokenize(text: &str) -> Result<Vec<Token>, Error> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '\'' => {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => {
                            // `''` is a quote inside the literal.
                            if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                                chars.next();
                                literal.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => literal.push(c),
                        None => {
                            return Err(Error::Syntax(format!(
                                "Syntax error: unterminated string literal at position {at} in '{text}'."
                            )));
                        }
                    }
                }
                tokens.push(Token::Text(literal));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@' | ':' | '+') => {
                let mut word = String::from(c);
                while let Some((_, c)) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@' | ':' | '+') {
                        word.push(*c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(Error::Syntax(format!(
                    "Syntax error: character '{other}' is not valid at position {at} in '{text}'."
                )));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    known: &'a dyn Fn(&str) -> bool,
    text: &'a str,
}

impl Parser<'_> {
    fn syntax(&self, what: &str) -> Error {
        Error::Syntax(format!(
            "Syntax error: {what} at token {} in '{}'.",
            self.at, self.text
        ))
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, token: Token) -> Result<(), Error> {
        if self.next() == Some(token.clone()) {
            Ok(())
        } else {
            Err(self.syntax(&format!("expected {token:?}")))
        }
    }

    fn or(&mut self) -> Result<Expr, Error> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(word)) if word == "not" => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Token::Word(word)) => {
                let function = match word.as_str() {
                    "contains" => Some(Function::Contains),
                    "startswith" => Some(Function::StartsWith),
                    "endswith" => Some(Function::EndsWith),
                    _ => None,
                };
                if let Some(function) = function
                    && self.tokens.get(self.at) == Some(&Token::Open)
                {
                    self.at += 1;
                    let column = self.column()?;
                    self.expect(Token::Comma)?;
                    let Some(Token::Text(value)) = self.next() else {
                        return Err(self.syntax("expected a string literal"));
                    };
                    self.expect(Token::Close)?;
                    return Ok(Expr::Call {
                        function,
                        column,
                        value,
                    });
                }
                self.at -= 1;
                let column = self.column()?;
                let equal = match self.next() {
                    Some(Token::Word(op)) if op == "eq" => true,
                    Some(Token::Word(op)) if op == "ne" => false,
                    _ => return Err(self.syntax("expected 'eq' or 'ne'")),
                };
                let value = self.literal()?;
                Ok(Expr::Compare {
                    column,
                    equal,
                    value,
                })
            }
            _ => Err(self.syntax("expected a comparison")),
        }
    }

    fn column(&mut self) -> Result<String, Error> {
        match self.next() {
            Some(Token::Word(name)) => {
                if (self.known)(&name) {
                    Ok(name)
                } else {
                    Err(Error::UnknownProperty(name))
                }
            }
            _ => Err(self.syntax("expected a property name")),
        }
    }

    fn literal(&mut self) -> Result<Literal, Error> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Word(word)) => match word.as_str() {
                "null" => Ok(Literal::Null),
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                w if w.len() == 36 && uuid::Uuid::parse_str(w).is_ok() => {
                    Ok(Literal::Guid(w.to_ascii_lowercase()))
                }
                w => w
                    .parse::<f64>()
                    .map(Literal::Number)
                    .map_err(|_| self.syntax(&format!("'{w}' is not a literal"))),
            },
            _ => Err(self.syntax("expected a literal")),
        }
    }
}

impl Expr {
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        match self {
            Self::Or(a, b) => a.matches(row) || b.matches(row),
            Self::And(a, b) => a.matches(row) && b.matches(row),
            Self::Not(inner) => !inner.matches(row),
            Self::Compare {
                column,
                equal,
                value,
            } => {
                let actual = row.get(column).unwrap_or(&Value::Null);
                equals(actual, value) == *equal
            }
            Self::Call {
                function,
                column,
                value,
            } => {
                let Some(actual) = row.get(column).and_then(Value::as_str) else {
                    return false;
                };
                // "All filters using string values are case insensitive."
                let (actual, value) = (actual.to_lowercase(), value.to_lowercase());
                match function {
                    Function::Contains => actual.contains(&value),
                    Function::StartsWith => actual.starts_with(&value),
                    Function::EndsWith => actual.ends_with(&value),
                }
            }
        }
    }
}

fn equals(actual: &Value, literal: &Literal) -> bool {
    match (actual, literal) {
        (Value::Null, Literal::Null) => true,
        (Value::String(a), Literal::Text(b)) => a.to_lowercase() == b.to_lowercase(),
        (Value::String(a), Literal::Guid(b)) => a.eq_ignore_ascii_case(b),
        (Value::Bool(a), Literal::Bool(b)) => a == b,
        (Value::Number(a), Literal::Number(b)) => a.as_f64() == Some(*b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn or_of_phone_columns_with_doubled_quotes() {
        let expr = parse(
            "telephone1 eq '+380501234567' or mobilephone eq 'O''Brien' or telephone2 eq 'x'",
            |_| true,
        )
        .expect("parses");
        assert!(expr.matches(&row(json!({"telephone1": "+380501234567"}))));
        assert!(expr.matches(&row(json!({"mobilephone": "o'brien"}))));
        assert!(!expr.matches(&row(json!({"telephone1": " 380501234567"}))));
    }

    #[test]
    fn and_not_functions_guids_and_null() {
        let expr = parse(
            "(startswith(fullname,'ol') and not (isdisabled eq true)) and _ownerid_value eq 5A0C1E2D-3B4F-4A5E-8C6D-7E8F90A1B2C1 and telephone3 eq null",
            |_| true,
        )
        .expect("parses");
        assert!(expr.matches(&row(json!({
            "fullname": "Olena", "isdisabled": false,
            "_ownerid_value": "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1"
        }))));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse("telephone9 eq '1'", |c| c != "telephone9").err(),
            Some(Error::UnknownProperty("telephone9".into()))
        );
        assert!(matches!(
            parse("telephone1 eq 'open", |_| true),
            Err(Error::Syntax(_))
        ));
        assert!(matches!(
            parse("telephone1 = '1'", |_| true),
            Err(Error::Syntax(_))
        ));
    }
}
