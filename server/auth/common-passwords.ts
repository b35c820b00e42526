// The most used passwords and password stems from public breach-frequency lists (lower case). No npm list
// met our bar for size and upkeep, so this short one ships with the code; a password is refused when it, or
// what remains after stripping digits and symbols from its ends, is here.
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012', '1234567890123', '12345678901234', '123123123123', '111111111111', '000000000000', '121212121212',
  '1q2w3e4r5t6y', '1qaz2wsx3edc', '1qaz2wsx3edc4rfv', 'qwertyuiop', 'qwertyuiopasdf', 'qwertyuiopasdfgh', 'asdfghjkl', 'zxcvbnm',
  'qwerty', 'qwertz', 'azerty', 'asdfasdf', 'qazwsx', 'abcdef', 'abcdefgh', 'abcdefghijkl', 'abc', 'aaaaaaaaaaaa',
  'password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'pass', 'passwort', 'motdepasse', 'contraseña', 'senha', 'mypassword',
  'iloveyou', 'letmein', 'welcome', 'welcomehome', 'changeme', 'changeit', 'secret', 'topsecret', 'trustno1', 'admin',
  'administrator', 'adminadmin', 'root', 'toor', 'login', 'master', 'guest', 'default', 'test', 'testtest', 'temp', 'user',
  'monkey', 'dragon', 'football', 'baseball', 'basketball', 'soccer', 'hockey', 'superman', 'batman', 'spiderman', 'pokemon',
  'princess', 'sunshine', 'shadow', 'michael', 'jennifer', 'jordan', 'hunter', 'ranger', 'buster', 'tigger', 'charlie',
  'starwars', 'whatever', 'freedom', 'computer', 'internet', 'samsung', 'google', 'microsoft', 'apple', 'summer', 'winter',
  'spring', 'autumn', 'hello', 'helloworld', 'loveme', 'lovely', 'flower', 'cheese', 'chocolate', 'cookie', 'banana',
  'harley', 'mustang', 'ferrari', 'corvette', 'matrix', 'killer', 'ninja', 'zaq12wsx', 'qweasdzxc', 'asdfghjklqwerty',
  'correcthorsebatterystaple', 'correct horse battery staple', 'thequickbrownfox', 'iloveyouforever', 'letmeinplease',
  'hotplane', 'hotplaneadmin', 'bank', 'banking', 'company', 'welcometothebank', 'abc123', 'a1b2c3', 'q1w2e3r4', 'q1w2e3r4t5y6',
]);
